package reviewers

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileFollowsChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "reviewers")
	keyA, lineA, err := NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	keyB, lineB, _ := NewKey("bob")
	if err := os.WriteFile(path, []byte("# staff\n"+lineA+"\n"+lineB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Check("alice", keyA) != nil || f.Check("bob", keyB) != nil {
		t.Fatal("right keys refused")
	}
	for _, c := range [][2]string{{"alice", keyB}, {"carol", keyA}, {"alice", ""}, {"", ""}} {
		if f.Check(c[0], c[1]) == nil {
			t.Errorf("%q with a wrong key accepted", c[0])
		}
	}
	fp, ok := f.Fingerprint("bob")
	if !ok || fp == "" {
		t.Fatal("no fingerprint")
	}
	// Removing bob's line ends him at once: the next call sees the file changed.
	if err := os.WriteFile(path, []byte(lineA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Some file systems keep modification times coarse; the size changed anyway.
	os.Chtimes(path, time.Now().Add(time.Second), time.Now().Add(time.Second))
	if f.Check("bob", keyB) == nil {
		t.Error("bob still accepted after his line was removed")
	}
	if _, ok := f.Fingerprint("bob"); ok {
		t.Error("bob still has a fingerprint")
	}
	if f.Check("alice", keyA) != nil {
		t.Error("alice refused")
	}
	// A damaged file refuses everyone rather than keeping removed reviewers.
	os.WriteFile(path, []byte(lineA+"\nnot a line\n"), 0o600)
	os.Chtimes(path, time.Now().Add(2*time.Second), time.Now().Add(2*time.Second))
	if f.Check("alice", keyA) == nil {
		t.Error("a damaged file still admits")
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"alice", "alice:zz", "alice:" + "AB" + "00000000000000000000000000000000000000000000000000000000000000"[:62],
		"../x:" + "00000000000000000000000000000000000000000000000000000000000000ab"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, _, err := NewKey("a b"); err == nil {
		t.Error("a name with a space")
	}
}
