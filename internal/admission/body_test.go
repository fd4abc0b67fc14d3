package admission

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

func code(err error) string {
	var fe *filing.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestBodiesAdmit: a known size is reserved whole on admission, and what does not fit is
// refused at once with 503 and Retry-After, holding nothing; the caps of uploads in flight
// per order and per IP answer 429; releasing gives everything back.
func TestBodiesAdmit(t *testing.T) {
	b := NewBodies(BodyConfig{Memory: 10 << 20, PerOrder: 2, PerIP: 3})
	first, err := b.Admit("o1", "ip1", 6<<20, 20<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Stats().BytesReserved; got != 6<<20 {
		t.Fatalf("reserved %d, want the Content-Length %d", got, 6<<20)
	}
	if first.Size() != 6<<20 {
		t.Errorf("Size %d, want %d", first.Size(), 6<<20)
	}
	for _, tc := range []struct {
		name      string
		order, ip string
		size      int64
		want      string
	}{
		{"no room", "o2", "ip2", 5 << 20, filing.CodeUnavailable},
		{"fits", "o1", "ip1", 4 << 20, ""},
		{"order cap", "o1", "ip9", 1, filing.CodeRateLimited},
		{"ip cap", "o3", "ip1", 0, ""},
		{"ip cap reached", "o4", "ip1", 0, filing.CodeRateLimited},
	} {
		body, err := b.Admit(tc.order, tc.ip, tc.size, 20<<20)
		if code(err) != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if tc.want == filing.CodeUnavailable {
			var fe *filing.Error
			if errors.As(err, &fe) && fe.Details[filing.DetailRetryAfter] == nil {
				t.Errorf("%s: no Retry-After in %v", tc.name, fe.Details)
			}
		}
		_ = body
	}
	if got := b.Stats().BytesReserved; got != 10<<20 {
		t.Errorf("reserved %d after the refusals, want %d (a refusal holds nothing)", got, 10<<20)
	}
	first.Release()
	first.Release() // twice is harmless
	if got := b.Stats().BytesReserved; got != 4<<20 {
		t.Errorf("reserved %d after release, want %d", got, 4<<20)
	}
	if _, err := b.Admit("o2", "ip2", 5<<20, 20<<20); err != nil {
		t.Errorf("after release: %v", err)
	}
}

// TestBodiesChunked: a body of unknown size reserves as it is read and is refused with 503
// by the read that finds no room; its reservation is never more than the limit + 1.
func TestBodiesChunked(t *testing.T) {
	b := NewBodies(BodyConfig{Memory: 1 << 20})
	small, err := b.Admit("o", "ip", -1, 300<<10)
	if err != nil {
		t.Fatal(err)
	}
	if small.Size() != -1 {
		t.Errorf("Size %d of a chunked body, want -1", small.Size())
	}
	data, err := io.ReadAll(small.Reader(bytes.NewReader(make([]byte, 200<<10))))
	if err != nil || len(data) != 200<<10 {
		t.Fatalf("read %d, %v", len(data), err)
	}
	if got := b.Stats().BytesReserved; got < 200<<10 || got > 300<<10+1 {
		t.Errorf("reserved %d for a 200 KiB body under a 300 KiB limit", got)
	}
	big, err := b.Admit("o2", "ip2", -1, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(big.Reader(bytes.NewReader(make([]byte, 2<<20))))
	if code(err) != filing.CodeUnavailable {
		t.Errorf("a chunked body past the budget: %v, want unavailable", err)
	}
	if got := b.Stats().BytesReserved; got > 1<<20 {
		t.Errorf("reserved %d, over the budget", got)
	}
	big.Release()
	small.Release()
	if got := b.Stats().BytesReserved; got != 0 {
		t.Errorf("reserved %d after both released", got)
	}
}

func TestBodiesNil(t *testing.T) {
	var b *Bodies
	body, err := b.Admit("o", "ip", 1<<30, 1<<30)
	if err != nil || body.Size() != -1 {
		t.Fatalf("nil Bodies: %v, size %d", err, body.Size())
	}
	body.Release()
}
