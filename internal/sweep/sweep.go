// Package sweep deletes what the blob store should no longer hold (docs/operations.md "Leftovers",
// §6 retention): temporary files and incomplete uploads left by a crash mid-write, and
// blobs no stored material refers to, once they are older than twice the upload timeout.
// It runs at start and every minute on every instance, but one instance at a time: a
// Redis lock (SET NX PX with a random token, released by compare-and-delete).
//
// The age rule is what makes sweeping safe beside live uploads: a blob is written before
// the metadata transaction that refers to it, and an upload lasts at most the upload
// timeout, so a blob older than twice that without a reference will never get one. An
// order that no longer exists in Redis refers to nothing, which is how the images of
// orders deleted by retention leave the store.
package sweep

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

// Refs tells which blobs an order's stored materials refer to.
type Refs interface {
	// MaterialHashes returns the SHA-256 of each material of the order and whether the
	// order exists.
	MaterialHashes(ctx context.Context, orderID string) (map[string]bool, bool, error)
}

// Config of a sweeper. Zero fields take the defaults given.
type Config struct {
	// Store is the raw store (the sweeper never reads contents).
	Store blob.Store
	// StoreName tells stores apart: instances sharing a store share one lock.
	StoreName string
	Refs      Refs
	Redis     redis.UniversalClient
	// Age under which nothing is swept; default 4m (twice the default upload timeout).
	Age time.Duration
	// Every is the pause between sweeps; default 1m.
	Every time.Duration
	// Now default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Swept, when set, is told what each sweep this instance ran deleted (the metrics).
	Swept func(Result)
}

// Sweeper sweeps one store.
type Sweeper struct {
	cfg     Config
	lockKey string
}

// New returns a sweeper.
func New(cfg Config) *Sweeper {
	cfg.Age = cmp.Or(cfg.Age, 4*time.Minute)
	cfg.Every = cmp.Or(cfg.Every, time.Minute)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	sum := sha256.Sum256([]byte(cfg.StoreName))
	return &Sweeper{cfg: cfg, lockKey: rediskeys.Prefix + "sweep-lock:" + hex.EncodeToString(sum[:8])}
}

// Result counts what one sweep did.
type Result struct {
	// Skipped is set when another instance held the lock.
	Skipped      bool
	Leftovers    int
	Unreferenced int
	Folders      int
	// Kept counts blobs old enough but referenced.
	Kept int
}

// Run sweeps now and then every Config.Every until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Every)
	defer t.Stop()
	for {
		if r, err := s.Once(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("blob sweep failed", "err", err)
		} else if r.Leftovers+r.Unreferenced > 0 {
			s.cfg.Logger.Info("blob sweep", "leftovers", r.Leftovers, "unreferenced", r.Unreferenced, "folders", r.Folders)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lockTTL outlives any sweep: Once gives up before it.
const lockTTL = 5 * time.Minute

var release = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Once sweeps the store once, if no other instance is sweeping it.
func (s *Sweeper) Once(ctx context.Context) (Result, error) {
	var r Result
	tok := make([]byte, 16)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	ok, err := s.cfg.Redis.SetNX(ctx, s.lockKey, token, lockTTL).Result()
	if err != nil {
		return r, err
	}
	if !ok {
		r.Skipped = true
		return r, nil
	}
	defer release.Run(context.WithoutCancel(ctx), s.cfg.Redis, []string{s.lockKey}, token)
	ctx, cancel := context.WithTimeout(ctx, lockTTL-30*time.Second)
	defer cancel()

	cutoff := s.cfg.Now().Add(-s.cfg.Age)
	var old []blob.Entry
	err = s.cfg.Store.List(ctx, func(e blob.Entry) error {
		if e.ModTime.Before(cutoff) {
			old = append(old, e)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	// References are read after the listing, so a blob listed as old was written well
	// before its order's materials were read.
	refs := map[string]map[string]bool{}
	var errs []error
	for _, e := range old {
		if e.Kind == blob.Blob {
			order, sha, _ := strings.Cut(e.Key, "/")
			hashes, seen := refs[order]
			if !seen {
				h, exists, err := s.cfg.Refs.MaterialHashes(ctx, order)
				if err != nil {
					return r, err
				}
				if !exists {
					h = map[string]bool{}
				}
				refs[order], hashes = h, h
			}
			if hashes[sha] {
				r.Kept++
				continue
			}
		}
		err := s.cfg.Store.Remove(ctx, e)
		if errors.Is(err, blob.ErrChanged) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch e.Kind {
		case blob.Blob:
			r.Unreferenced++
		case blob.Leftover:
			r.Leftovers++
		case blob.Folder:
			r.Folders++
		}
	}
	if s.cfg.Swept != nil {
		s.cfg.Swept(r)
	}
	return r, errors.Join(errs...)
}
