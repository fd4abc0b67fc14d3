package blob_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/sweep"
)

const crashEnv = "BEIANSCAN_BLOB_CRASH_DIR"

// TestCrashChild is the writer TestKilledWriterLeavesNothing kills: it runs only as that
// test's child process.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestKilledWriterLeavesNothing")
	}
	d, err := blob.NewDisk(dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	blob.SetBeforeRename(d, func(tmp string) {
		fmt.Println("written", filepath.Base(tmp))
		select {} // wait for SIGKILL
	})
	data := []byte("an ID card image that will never be renamed into place")
	d.Put(context.Background(), blob.KeyOf("crashorder", data), data)
	os.Exit(1)
}

// TestKilledWriterLeavesNothing: kill -9 of a process in the middle of Put leaves a
// temporary file; the sweeper deletes it once it is older than the age, and not before.
func TestKilledWriterLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "written ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	tmp := filepath.Join(dir, "blobs", "crashorder", strings.TrimSpace(strings.TrimPrefix(line, "written ")))
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("the killed writer left no temporary file: %v", err)
	}

	store, name, err := blob.FromURL(context.Background(), "", dir, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	defer rdb.Close()
	now := time.Now()
	s := sweep.New(sweep.Config{Store: store, StoreName: name, Refs: redisstore.New(rdb, 0), Redis: rdb,
		Now: func() time.Time { return now }})
	if r, err := s.Once(context.Background()); err != nil || r.Leftovers != 0 {
		t.Fatalf("young leftover: %+v, %v; want kept", r, err)
	}
	now = now.Add(4*time.Minute + time.Second)
	if r, err := s.Once(context.Background()); err != nil || r.Leftovers != 1 {
		t.Fatalf("old leftover: %+v, %v; want 1 swept", r, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("leftover still there: %v", err)
	}
	// Its folder, now empty, goes once it is old too.
	now = now.Add(5 * time.Minute)
	if r, err := s.Once(context.Background()); err != nil || r.Folders != 1 {
		t.Fatalf("empty folder: %+v, %v", r, err)
	}
}
