package sealbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func TestSealOpen(t *testing.T) {
	old, err := Parse("k1:" + key(1))
	if err != nil {
		t.Fatal(err)
	}
	both, err := Parse("k2:" + key(2) + ", k1:" + key(1))
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, err := Parse("k2:" + key(2))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("\xff\xd8\xff\xe0 a JPEG, say")
	sealedOld := old.Seal(plain, []byte("order/abc"))
	if bytes.Contains(sealedOld, plain[:4]) {
		t.Fatal("the plaintext's magic bytes show in the sealed message")
	}
	if id, ok := KeyID(sealedOld); !ok || id != "k1" {
		t.Fatalf("KeyID = %q, %v", id, ok)
	}
	tests := []struct {
		name    string
		ring    *Keyring
		sealed  []byte
		context string
		wantErr error
	}{
		{"the sealing key opens", old, sealedOld, "order/abc", nil},
		{"a later ring with the old key opens", both, sealedOld, "order/abc", nil},
		{"a ring without the key says so", onlyNew, sealedOld, "order/abc", ErrUnknownKey},
		{"another context is refused", old, sealedOld, "order/abd", ErrCorrupt},
		{"a flipped byte is refused", old, flip(sealedOld, len(sealedOld)-20), "order/abc", ErrCorrupt},
		{"a flipped tag is refused", old, flip(sealedOld, len(sealedOld)-1), "order/abc", ErrCorrupt},
		{"a header naming another key is refused", both, relabel(sealedOld, "k2"), "order/abc", ErrCorrupt},
		{"plaintext is not a sealed message", old, plain, "order/abc", ErrCorrupt},
		{"a truncated message is refused", old, sealedOld[:10], "order/abc", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ring.Open(tt.sealed, []byte(tt.context))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(got, plain) {
				t.Fatalf("opened %q", got)
			}
		})
	}
	if a, b := old.Seal(plain, nil), old.Seal(plain, nil); bytes.Equal(a, b) {
		t.Fatal("two seals of the same bytes are equal: the nonce is not fresh")
	}
	if s := both.Seal(plain, nil); mustID(t, s) != "k2" {
		t.Fatal("the first key of the ring must seal")
	}
}

func TestStrings(t *testing.T) {
	k := Random()
	s := k.SealString("11010519491231002X", "order-1/subject")
	if strings.Contains(s, "11010519491231002X") || !IsSealedString(s) {
		t.Fatalf("sealed string %q", s)
	}
	got, err := k.OpenString(s, "order-1/subject")
	if err != nil || got != "11010519491231002X" {
		t.Fatalf("OpenString = %q, %v", got, err)
	}
	if _, err := k.OpenString(s, "order-2/subject"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("another context: %v", err)
	}
	if id, ok := StringKeyID(s); !ok || id != k.Primary() {
		t.Fatalf("StringKeyID = %q, %v", id, ok)
	}
	if _, err := k.OpenString("11010519491231002X", ""); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("plaintext opened: %v", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"one key", "a:" + key(1), true},
		{"url base64 and spaces", " a:" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)) + " , b:" + key(2), true},
		{"empty", "", false},
		{"no id", key(1), false},
		{"short key", "a:" + base64.StdEncoding.EncodeToString([]byte("short")), false},
		{"not base64", "a:!!!", false},
		{"duplicate id", "a:" + key(1) + ",a:" + key(2), false},
		{"bad id", "a b:" + key(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), key(1)) {
				t.Fatal("the error shows the key")
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func relabel(b []byte, id string) []byte {
	_, n, _ := parseHeader(b)
	return append(header(id), b[n:]...)
}

func mustID(t *testing.T, b []byte) string {
	t.Helper()
	id, ok := KeyID(b)
	if !ok {
		t.Fatal("not sealed")
	}
	return id
}
