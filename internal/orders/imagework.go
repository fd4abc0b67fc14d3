package orders

import (
	"context"

	"github.com/beianscan/beianscan/internal/images"
)

// Admission bounds image work across the instance (internal/admission.Gate): Do runs work
// once bytes of the decode budget and a worker are free, or answers 503 unavailable.
type Admission interface {
	Do(ctx context.Context, bytes int64, work func() error) error
}

// process validates one upload under admission: the header is read and the cost known
// before anything is decoded, and what the header refuses is refused without waiting.
func (s *Service) process(ctx context.Context, data []byte, opts images.Options) (*images.Result, error) {
	cost, err := images.Cost(data, opts)
	if err != nil {
		return nil, err
	}
	return s.admit(ctx, cost, func() (*images.Result, error) { return images.Process(data, opts) })
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
