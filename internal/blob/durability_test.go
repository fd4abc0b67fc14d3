package blob

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPutSyncsFileThenDirectory: Put returns only once the bytes and their name are durable,
// which takes two fsyncs no other test can see: the temporary file's, while it holds all the
// bytes and before it takes the blob's name (else a crash may leave the name on an empty or
// short file), and the order folder's, after the rename (else a crash may lose the name).
func TestPutSyncsFileThenDirectory(t *testing.T) {
	d, _ := newDisk(t)
	ctx := testCtx(t)
	// Create the order folder first, so that only the Put's own fsyncs are recorded.
	if err := d.Put(ctx, KeyOf("order1", []byte("warm")), []byte("warm")); err != nil {
		t.Fatal(err)
	}
	data := []byte("face photo bytes")
	key := KeyOf("order1", data)
	final := filepath.Join(d.root, filepath.FromSlash(key))
	orderDir := filepath.Dir(final)

	type synced struct {
		name      string
		size      int64 // the file's size when synced (-1: a directory)
		nameTaken bool  // whether the blob's final name existed when synced
	}
	var got []synced
	real := syncFile
	t.Cleanup(func() { syncFile = real })
	syncFile = func(f *os.File) error {
		s := synced{name: f.Name(), size: -1}
		if st, err := f.Stat(); err == nil && !st.IsDir() {
			s.size = st.Size()
		}
		_, err := os.Stat(final)
		s.nameTaken = err == nil
		got = append(got, s)
		return real(f)
	}

	if err := d.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	fileSynced, dirSynced := false, false
	for _, s := range got {
		switch {
		case filepath.Dir(s.name) == orderDir && s.size == int64(len(data)) && !s.nameTaken:
			fileSynced = true
		case s.name == orderDir && s.size == -1 && s.nameTaken && fileSynced:
			dirSynced = true
		}
	}
	if !fileSynced {
		t.Errorf("the temporary file was not synced with all its bytes before the rename; syncs: %+v", got)
	}
	if !dirSynced {
		t.Errorf("the order folder was not synced after the rename; syncs: %+v", got)
	}
}
