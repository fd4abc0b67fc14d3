package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/blob/s3test"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/sealbox"
	"github.com/redis/go-redis/v9"
)

func TestConfigFromBlobSettings(t *testing.T) {
	env := map[string]string{"BEIANSCAN_BLOB_URL": "s3://b/p?endpoint=http://m:9000", "BEIANSCAN_ENCRYPTION_KEYS": "k1:x"}
	c, err := configFrom(nil, func(k string) string { return env[k] })
	if err != nil || c.BlobURL != env["BEIANSCAN_BLOB_URL"] || c.EncryptionKeys != "k1:x" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = configFrom([]string{"-blob-url", "file:///srv/blobs"}, func(k string) string { return env[k] })
	if err != nil || c.BlobURL != "file:///srv/blobs" {
		t.Fatalf("flag: %q %v", c.BlobURL, err)
	}
}

const (
	k1 = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	k2 = "k2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
)

func keyring(t *testing.T, spec string) *sealbox.Keyring {
	t.Helper()
	k, err := sealbox.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestReencryptRotation: blobs sealed under k1 (and one plaintext blob from before
// encryption); rotate to "k2,k1"; reencrypt; a second run changes nothing; then k2 alone
// reads every blob: dropping k1 loses nothing. On the file store and on S3.
func TestReencryptRotation(t *testing.T) {
	for _, store := range []string{"file", "s3"} {
		t.Run(store, func(t *testing.T) {
			env := map[string]string{"BEIANSCAN_DATA_DIR": t.TempDir()}
			if store == "s3" {
				srv := s3test.Start(t)
				env["BEIANSCAN_BLOB_URL"] = srv.URL(srv.Bucket(t), "rot")
				env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
			}
			getenv := func(k string) string { return env[k] }
			ctx := context.Background()
			raw, _, err := blob.FromURL(ctx, env["BEIANSCAN_BLOB_URL"], env["BEIANSCAN_DATA_DIR"], getenv)
			if err != nil {
				t.Fatal(err)
			}
			images := map[string][]byte{}
			old := blob.NewSealed(raw, keyring(t, k1))
			for i := range 5 {
				img := bytes.Repeat([]byte{byte(i), 0xD8}, 1000+i)
				k := blobKey("order"+string(rune('a'+i%2)), img)
				images[k] = img
				if err := old.Put(ctx, k, img); err != nil {
					t.Fatal(err)
				}
			}
			legacy := []byte("plaintext written before encryption was turned on")
			images[blobKey("ordera", legacy)] = legacy
			raw.Put(ctx, blobKey("ordera", legacy), legacy)

			env["BEIANSCAN_ENCRYPTION_KEYS"] = k2 + "," + k1
			for run, want := range []string{"6 checked, 6 re-encrypted", "6 checked, 0 re-encrypted"} {
				var out strings.Builder
				if code := runReencrypt(ctx, nil, getenv, &out); code != 0 || !strings.Contains(out.String(), want) {
					t.Fatalf("run %d: exit %d, %q; want %q", run+1, code, out.String(), want)
				}
			}
			only := blob.NewSealed(raw, keyring(t, k2))
			for k, img := range images {
				got, err := only.Get(ctx, k)
				if err != nil || !bytes.Equal(got, img) {
					t.Fatalf("%s under k2 alone: %v", k, err)
				}
			}
		})
	}
}

// TestReencryptRefuses: without keys it does nothing and says why; a blob no key opens is
// reported, the others are still moved, and the exit code says to run again.
func TestReencryptRefuses(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	if code := runReencrypt(context.Background(), []string{"-data-dir", dir}, func(string) string { return "" }, &out); code != 2 || !strings.Contains(out.String(), "BEIANSCAN_ENCRYPTION_KEYS") {
		t.Fatalf("no keys: exit %d %q", code, out.String())
	}
	raw, _ := blob.NewDisk(dir)
	ctx := context.Background()
	lost := []byte("sealed under a key nobody has any more")
	blob.NewSealed(raw, keyring(t, "k0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")).Put(ctx, blobKey("o", lost), lost)
	fine := []byte("fine")
	blob.NewSealed(raw, keyring(t, k1)).Put(ctx, blobKey("o", fine), fine)
	env := map[string]string{"BEIANSCAN_ENCRYPTION_KEYS": k2 + "," + k1, "BEIANSCAN_DATA_DIR": dir}
	out.Reset()
	code := runReencrypt(ctx, nil, func(k string) string { return env[k] }, &out)
	if code != 1 || !strings.Contains(out.String(), "2 checked, 1 re-encrypted under key \"k2\", 1 failed") || !strings.Contains(out.String(), "run `beianscan reencrypt` again") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if got, err := blob.NewSealed(raw, keyring(t, k2)).Get(ctx, blobKey("o", fine)); err != nil || string(got) != "fine" {
		t.Fatalf("the good blob was not moved: %v", err)
	}
}

func blobKey(order string, data []byte) string {
	s := sha256.Sum256(data)
	return order + "/" + hex.EncodeToString(s[:])
}

// TestReencryptIDNumbers: the subcommand also moves the full ID numbers in Redis to the
// first key; afterwards the new key alone opens every order.
func TestReencryptIDNumbers(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	o, err := filing.NewOrder("aaaaaaaaaaaaaaaaaaaaaaaaaa", filing.NewOrderInput{
		SubjectType: filing.Individual, Province: "CN-GD", SubjectName: "张三",
		SubjectLeader:     filing.Person{Name: "张三", IDType: filing.ResidentID, IDNumber: "11010519491231002X", IDValidUntil: filing.LongTerm},
		WebsiteLeaderSame: true, Domains: []string{"example.com"},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := redisstore.New(rdb, 0, redisstore.WithKeyring(keyring(t, k1))).CreateOrder(ctx, o, orders.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"BEIANSCAN_DATA_DIR": t.TempDir(), "BEIANSCAN_REDIS_URL": "redis://" + mr.Addr(),
		"BEIANSCAN_ENCRYPTION_KEYS": k2 + "," + k1,
	}
	var out strings.Builder
	if code := runReencrypt(ctx, nil, func(k string) string { return env[k] }, &out); code != 0 || !strings.Contains(out.String(), "id numbers: 0 checked, 1 re-encrypted") {
		t.Fatalf("exit %d, %q", code, out.String())
	}
	snap, err := redisstore.New(rdb, 0, redisstore.WithKeyring(keyring(t, k2))).Load(ctx, o.ID)
	if err != nil || snap.Order.SubjectLeader.IDNumber != "11010519491231002X" {
		t.Fatalf("under k2 alone: %v", err)
	}
}
