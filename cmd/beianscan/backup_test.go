package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/desktoptest"
	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/server"
)

const (
	restoreSecret = "restore-test-secret-0123456789abcdef"
	restoreKeys   = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
)

// instance starts a server on rdbAddr with the blob folder and the keys every instance of
// the test shares.
func instance(t *testing.T, redisAddr, blobs string) *server.Main {
	t.Helper()
	m, err := server.Open(server.Config{
		Addr: "127.0.0.1:0", RedisURL: "redis://" + redisAddr + "/0", DataDir: blobs,
		JWTSecret: restoreSecret, EncryptionKeys: restoreKeys, MetricsAddr: server.MetricsOff,
		OrderRate: limits.RateOff, PairingRate: limits.RateOff, WebsocketsPerOrder: limits.Off,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("start instance: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// kept is what a test knows was acknowledged: an order's materials, their images as
// served, and its audit trail.
type kept struct {
	order  desktoptest.Order
	mats   map[string]desktoptest.Material
	images map[string][]byte
	audit  []desktoptest.AuditEntry
}

func read(t *testing.T, ctx context.Context, c *desktoptest.Client, o desktoptest.Order) kept {
	t.Helper()
	k := kept{order: o, images: map[string][]byte{}}
	var err error
	if k.mats, err = c.Materials(ctx, o); err != nil {
		t.Fatal(err)
	}
	for slot := range k.mats {
		if k.images[slot], err = c.Image(ctx, o, slot); err != nil {
			t.Fatal(err)
		}
	}
	// After the reads, which the audit records too.
	if k.audit, err = c.Audit(ctx, o); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestBackupRestore: `beianscan backup` takes a snapshot of the Redis of a serving
// instance while uploads go on; a fresh redis-server restored from it, with the same blob
// store and keys, serves every order, image (byte for byte) and audit entry acknowledged
// before the backup. What came after it (a new order, an image added to an old one) is
// gone from the orders, and the images it left in the store are swept rather than served.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	src := redistest.Start(t, "--appendonly", "yes")
	blobs := t.TempDir()
	a := instance(t, src.Addr, blobs)
	ca := &desktoptest.Client{Base: a.URL}

	// Acknowledged before the backup: three orders with two images each, one read.
	slots := []string{"subject_leader_id_front", "subject_leader_id_back"}
	var before []desktoptest.Order
	for i := range 3 {
		o, err := ca.CreateOrder(ctx, "pc")
		if err != nil {
			t.Fatal(err)
		}
		for j, slot := range slots {
			if _, err := ca.Put(ctx, o, slot, appsim.SampleImage(slot, int64(10*i+j))); err != nil {
				t.Fatal(err)
			}
		}
		before = append(before, o)
	}
	var want []kept
	for _, o := range before {
		want = append(want, read(t, ctx, ca, o))
	}

	// Uploads go on while the backup is taken.
	busy, err := ca.CreateOrder(ctx, "pc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Put(ctx, busy, slots[0], appsim.SampleImage(slots[0], 99)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var busyErr error
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ca.Put(ctx, busy, slots[i%2], appsim.SampleImage(slots[i%2], int64(100+i))); err != nil {
				busyErr = err
				return
			}
		}
	}()
	out := filepath.Join(t.TempDir(), "beianscan.rdb")
	var stdout, stderr bytes.Buffer
	env := map[string]string{"BEIANSCAN_REDIS_URL": "redis://" + src.Addr + "/0"}
	if code := runBackup(ctx, []string{"-out", out}, func(k string) string { return env[k] }, &stdout, &stderr); code != 0 {
		t.Fatalf("backup exit %d: %s", code, stderr.String())
	}
	close(stop)
	wg.Wait()
	if busyErr != nil {
		t.Fatalf("an upload during the backup failed: %v", busyErr)
	}
	if !strings.Contains(stderr.String(), "snapshot of "+src.Addr) {
		t.Errorf("backup report %q", stderr.String())
	}

	// After the backup: a new order with an image, a third image on an old order, and an
	// image replaced on another (which deletes the image the backup refers to).
	late, err := ca.CreateOrder(ctx, "pc")
	if err != nil {
		t.Fatal(err)
	}
	lateMat, err := ca.Put(ctx, late, slots[0], appsim.SampleImage(slots[0], 900))
	if err != nil {
		t.Fatal(err)
	}
	added, err := ca.Put(ctx, before[0], "verification_form", appsim.SampleImage("verification_form", 901))
	if err != nil {
		t.Fatal(err)
	}
	replaced, err := ca.Put(ctx, before[1], slots[0], appsim.SampleImage(slots[0], 902))
	if err != nil {
		t.Fatal(err)
	}
	// Minutes pass before the restore: the live sweeper deletes the replaced image, and the
	// blobs of the uploads the restore will lose pass the sweeper's age rule. The test ages
	// every file and sweeps instead of waiting.
	old := time.Now().Add(-time.Hour)
	if err := filepath.WalkDir(blobs, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			err = os.Chtimes(p, old, old)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sweepUntil(t, a, func() bool { return !exists(t, blobs, want[1].mats[slots[0]].SHA256) })
	a.Close()
	src.Stop()

	dst := redistest.StartFrom(t, out)
	// restore-check finds the material whose image the replacement deleted; -fix removes
	// it from the order, so it is asked for again rather than listed and unreadable.
	env = map[string]string{"BEIANSCAN_REDIS_URL": "redis://" + dst.Addr + "/0", "BEIANSCAN_DATA_DIR": blobs, "BEIANSCAN_ENCRYPTION_KEYS": restoreKeys}
	var report bytes.Buffer
	if code := runRestoreCheck(ctx, nil, func(k string) string { return env[k] }, &report); code != 1 ||
		!strings.Contains(report.String(), "order "+before[1].ID+" (draft): the image of "+slots[0]+" is missing") {
		t.Fatalf("restore-check: exit %d, report:\n%s", code, report.String())
	}
	report.Reset()
	if code := runRestoreCheck(ctx, []string{"-fix"}, func(k string) string { return env[k] }, &report); code != 0 ||
		!strings.Contains(report.String(), "order "+before[1].ID+": "+slots[0]+" removed") {
		t.Fatalf("restore-check -fix: exit %d, report:\n%s", code, report.String())
	}
	report.Reset()
	if code := runRestoreCheck(ctx, nil, func(k string) string { return env[k] }, &report); code != 0 || !strings.Contains(report.String(), " 0 images missing") {
		t.Fatalf("restore-check after -fix: exit %d, report:\n%s", code, report.String())
	}
	delete(want[1].mats, slots[0])
	want[1].audit = append(want[1].audit, desktoptest.AuditEntry{Actor: "system", Action: "remove", Slot: slots[0]})

	b := instance(t, dst.Addr, blobs)
	cb := &desktoptest.Client{Base: b.URL}
	for _, w := range want {
		// The audit before this test reads anything on the restored instance.
		audit, err := cb.Audit(ctx, w.order)
		if err != nil {
			t.Fatal(err)
		}
		got := read(t, ctx, cb, w.order)
		got.audit = audit
		if len(got.mats) != len(w.mats) {
			t.Errorf("order %s: %d materials after the restore, want %d", w.order.ID, len(got.mats), len(w.mats))
		}
		for slot, m := range w.mats {
			if got.mats[slot].SHA256 != m.SHA256 || !bytes.Equal(got.images[slot], w.images[slot]) {
				t.Errorf("order %s %s: restored %s (%d bytes), want %s (%d bytes)", w.order.ID, slot,
					got.mats[slot].SHA256, len(got.images[slot]), m.SHA256, len(w.images[slot]))
			}
		}
		if len(got.audit) == len(w.audit) && w.audit[len(w.audit)-1].Actor == "system" {
			w.audit[len(w.audit)-1].At = got.audit[len(got.audit)-1].At // restore-check's own time
		}
		if !slices.Equal(got.audit, w.audit) {
			t.Errorf("order %s: audit after the restore %+v, want %+v", w.order.ID, got.audit, w.audit)
		}
	}
	// The busy order is there as of one instant (its image of that instant, replaced since,
	// was removed by restore-check): whatever it lists is readable.
	busyMats, err := cb.Materials(ctx, busy)
	if err != nil {
		t.Errorf("busy order after the restore: %v; it was created before the backup", err)
	}
	for slot := range busyMats {
		if _, err := cb.Image(ctx, busy, slot); err != nil {
			t.Errorf("busy order %s: %v", slot, err)
		}
	}

	// Lost: the late order and the added image, and their blobs are swept.
	if ans, _ := cb.Do(ctx, "GET", "/api/v1/orders/"+late.ID, late.Token, nil, nil); ans.Status != 404 || ans.Code() != "order_not_found" {
		t.Errorf("the order created after the backup answers %d %s, want 404 order_not_found", ans.Status, ans.Code())
	}
	if mats, _ := cb.Materials(ctx, before[0]); mats["verification_form"].SHA256 != "" {
		t.Errorf("the image added after the backup is listed: %+v", mats["verification_form"])
	}
	sweepUntil(t, b, func() bool {
		return !exists(t, blobs, lateMat.SHA256) && !exists(t, blobs, added.SHA256) && !exists(t, blobs, replaced.SHA256)
	})
	// Every kept image is still there after the sweep.
	for _, w := range want {
		for slot := range w.mats {
			if _, err := cb.Image(ctx, w.order, slot); err != nil {
				t.Errorf("after the sweep, order %s %s: %v", w.order.ID, slot, err)
			}
		}
	}
}

// sweepUntil runs the instance's sweeper until done holds after a sweep it ran itself
// (the start's own sweep may hold the lock), failing after 10 s.
func sweepUntil(t *testing.T, m *server.Main, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := m.Sweeper.Once(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !r.Skipped && done() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not swept after 10 s of sweeps (%+v)", r)
		}
		time.Sleep(50 * time.Millisecond) // polling the lock another sweep holds
	}
}

// exists reports whether a blob of that SHA-256 is in the file store.
func exists(t *testing.T, dir, sha string) bool {
	t.Helper()
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(filepath.Base(p), sha) {
			found = true
		}
		return nil
	})
	return found
}
