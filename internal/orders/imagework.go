package orders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/images"
)

// Admission bounds image work across the instance (internal/admission.Gate): Do runs work
// once bytes of the decode budget and a worker are free, or answers 503 unavailable.
type Admission interface {
	Do(ctx context.Context, bytes int64, work func() error) error
}

// process validates one upload under admission: the header is read and the cost known
// before anything is decoded, and what the header refuses is refused without waiting.
//
// Without Fit the stored bytes (the input less its metadata) are known before the decode,
// so their durable write starts as soon as the upload is admitted and runs while the image
// is decoded and analysed: the acknowledgment waits for the longer of the two, not their
// sum (docs/benchmarks.md, "12 MP acknowledgment"). The write holds no decode memory, only
// the stored bytes, and does not keep the image worker: the work given to admission ends
// with the analysis. An image that the decode or the analysis refuses has its blob deleted
// as soon as its write ends (the sweeper would remove it anyway). The returned write, when
// not nil, is the one save waits for.
func (s *Service) process(ctx context.Context, orderID string, data []byte, opts images.Options) (*images.Result, *pendingWrite, error) {
	cost, err := images.Cost(data, opts)
	if err != nil {
		return nil, nil, err
	}
	if opts.Fit {
		res, err := s.admit(ctx, cost, func() (*images.Result, error) { return images.Process(data, opts) })
		return res, nil, err
	}
	p, err := images.Prepare(data, opts)
	if err != nil {
		return nil, nil, err
	}
	var w *pendingWrite
	res, err := s.admit(ctx, cost, func() (*images.Result, error) {
		if p.Plausible() { // a header too small for the rules is refused by Check
			w = s.startWrite(ctx, orderID, p.Data)
		}
		return p.Check()
	})
	if err != nil {
		if w != nil {
			s.abandon(ctx, orderID, w)
		}
		return nil, nil, err
	}
	return res, w, nil
}

// pendingWrite is the durable write of an upload's stored bytes, under way.
type pendingWrite struct {
	done chan struct{}
	sha  string // set before done closes
	err  error
}

// startWrite starts writing data durably under its order and hash.
func (s *Service) startWrite(ctx context.Context, orderID string, data []byte) *pendingWrite {
	w := &pendingWrite{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		sum := sha256.Sum256(data)
		w.sha = hex.EncodeToString(sum[:])
		w.err = s.blobs.Put(ctx, blob.Key(orderID, w.sha), data)
	}()
	return w
}

// wait returns the blob's hash once it is durable, or the write's error.
func (w *pendingWrite) wait() (string, error) {
	<-w.done
	return w.sha, w.err
}

// abandon deletes the blob of an image that was refused after its write started, once the
// write is over, unless a stored material of the order holds the same bytes. Only the
// image itself refuses it there (corrupt, too small: the same bytes would be refused again),
// so a retry of the same bytes cannot be under way and lose its blob.
func (s *Service) abandon(ctx context.Context, orderID string, w *pendingWrite) {
	sha, err := w.wait()
	if err != nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	snap, err := s.store.Load(ctx, orderID)
	if err != nil {
		return // the sweeper deletes it once it is old enough
	}
	for _, m := range snap.Materials {
		if m.SHA256 == sha {
			return
		}
	}
	if err := s.blobs.Delete(ctx, blob.Key(orderID, sha)); err != nil {
		s.cfg.Logger.WarnContext(ctx, "blob delete failed", "order", orderID, "err", err)
	}
}

// durable makes data durable under its order and hash and returns the hash: by waiting for
// the write process started, or by writing it now (fitted and stitched images, whose bytes
// are the re-encode's).
func (s *Service) durable(ctx context.Context, orderID string, data []byte, w *pendingWrite) (string, error) {
	if w != nil {
		return w.wait()
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	return sha, s.blobs.Put(ctx, blob.Key(orderID, sha), data)
}

// stitch is images.Stitch under admission.
func (s *Service) stitch(ctx context.Context, parts [][]byte, opts images.Options) (*images.Result, error) {
	cost, err := images.StitchCost(parts, opts)
	if err != nil {
		return nil, err
	}
	return s.admit(ctx, cost, func() (*images.Result, error) { return images.Stitch(parts, opts) })
}

func (s *Service) admit(ctx context.Context, cost int64, run func() (*images.Result, error)) (*images.Result, error) {
	if s.cfg.Admission == nil {
		return run()
	}
	var res *images.Result
	err := s.cfg.Admission.Do(ctx, cost, func() error {
		var err error
		res, err = run()
		return err
	})
	return res, err
}
