package orders

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/images"
)

// startedBlobs is memBlobs that tells when each Put starts.
type startedBlobs struct {
	memBlobs
	started chan struct{}
	once    sync.Once
	puts    []string
}

func (b *startedBlobs) Put(ctx context.Context, key string, data []byte) error {
	b.once.Do(func() { close(b.started) })
	b.mu.Lock()
	b.puts = append(b.puts, key)
	b.mu.Unlock()
	return b.memBlobs.Put(ctx, key, data)
}

// jpegPhoto is a 640×480 JPEG the checks accept.
func jpegPhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteOverlapsDecode: the durable write of an upload's stored bytes starts before its
// decode ends (the decode's end waits here until the write has started; the old order of
// decode, then write, never gets there).
func TestWriteOverlapsDecode(t *testing.T) {
	snap := pcOrder(t)
	store := &memStore{snap: snap}
	blobs := &startedBlobs{started: make(chan struct{})}
	svc := newService(t, store, blobs)
	svc.cfg.Images.Observe = func(step string, _ time.Duration) {
		if step != "decode" {
			return
		}
		select {
		case <-blobs.started:
		case <-time.After(5 * time.Second):
			t.Error("the decode ended and the write had not started")
		}
	}
	m, err := svc.Upload(context.Background(), Upload{OrderID: snap.Order.ID, Slot: filing.SlotVerificationForm, Via: filing.ViaPC, Body: bytes.NewReader(jpegPhoto(t))})
	if err != nil {
		t.Fatal(err)
	}
	if got := blobs.keys(); len(got) != 1 || got[0] != snap.Order.ID+"/"+m.SHA256 {
		t.Fatalf("blobs %v, want the material's", got)
	}
}

// TestRefusedImageBlobDeleted: an image refused by its decode after its write started has
// its blob deleted at once, and the order is as it was; one refused by its header (too
// small) is never written.
func TestRefusedImageBlobDeleted(t *testing.T) {
	good := jpegPhoto(t)
	// The header and the first part of the scan, then the end: it strips, and fails to decode.
	truncated := append(slices.Clip(good[:len(good)/2]), 0xFF, 0xD9)
	// A photo large enough to be read from its coefficients (internal/jpegcells), truncated.
	large := func() []byte {
		m := image.NewYCbCr(image.Rect(0, 0, 2400, 1800), image.YCbCrSubsampleRatio420)
		for i := range m.Y {
			m.Y[i] = uint8(i * 7)
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		return append(slices.Clip(b.Bytes()[:b.Len()/2]), 0xFF, 0xD9)
	}()
	small := func() []byte {
		var b bytes.Buffer
		jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 200, 200)), nil)
		return b.Bytes()
	}()
	for _, data := range [][]byte{truncated, large} {
		if _, err := images.Prepare(data, images.Options{}); err != nil {
			t.Fatalf("the truncated JPEG does not pass Prepare (the test's premise): %v", err)
		}
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		code    string
		written bool
	}{
		{"corrupt", truncated, "corrupt_image", true},
		{"corrupt, read from its coefficients", large, "corrupt_image", true},
		{"too small", small, "image_too_small", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := pcOrder(t)
			store := &memStore{snap: snap}
			blobs := &startedBlobs{started: make(chan struct{})}
			svc := newService(t, store, blobs)
			_, err := svc.Upload(context.Background(), Upload{OrderID: snap.Order.ID, Slot: filing.SlotVerificationForm, Via: filing.ViaPC, Body: bytes.NewReader(tc.data)})
			var fe *filing.Error
			if !errors.As(err, &fe) || fe.Code != tc.code {
				t.Fatalf("error %v, want %s", err, tc.code)
			}
			if written := len(blobs.puts) > 0; written != tc.written {
				t.Errorf("written %v, want %v", written, tc.written)
			}
			if tc.written && !slices.Equal(blobs.deleted, blobs.puts) {
				t.Errorf("deleted %v, want %v", blobs.deleted, blobs.puts)
			}
			if k := blobs.keys(); len(k) != 0 {
				t.Errorf("blobs left: %v", k)
			}
			if store.snap.Order.Version != snap.Order.Version || len(store.events) != 0 || len(store.snap.Materials) != 0 {
				t.Error("a refused image changed the order")
			}
		})
	}
}
