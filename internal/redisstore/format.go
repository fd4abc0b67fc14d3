package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/rediskeys"
)

// The stored format: what the keys of rediskeys hold and how (order JSON with sealed ID
// numbers, material JSON in a hash, pairing fields, audit stream fields, idempotency
// records). It is versioned by one key, rediskeys.Format, so that an instance can tell
// data it can read from data a newer release wrote.
//
//   - Format 0 is everything written before the key existed: the same keys as format 1,
//     but an order may still hold plain (unsealed) ID numbers and may have no expiry.
//     Format 1 reads it as it is (decodeOrder takes a plain number; `beianscan reencrypt`
//     seals it and gives it its retention), so the key is simply set.
//   - Format 1 is this release's.
//
// The rule for a release that changes the layout (docs/production.md, "Rolling upgrade"):
// it raises Format, reads every format from MinReadFormat on (a test stores the previous
// format by hand and reads it: format_test.go), and sets the key at start. A binary that
// finds a format newer than its own refuses to start, since it could misread or damage
// what it does not know: going back past a format change means restoring the backup taken
// before the upgrade.
const (
	Format        = 1
	MinReadFormat = 0
)

// ErrFormat is returned by CheckFormat when Redis holds a format this binary cannot read.
var ErrFormat = errors.New("redisstore: stored format not readable by this version")

// CheckFormat reads the stored format and, when it is readable and older than Format (or
// absent: format 0), records Format. It returns the format found.
func (s *Store) CheckFormat(ctx context.Context) (found int, err error) {
	defer translate(&err)
	raw, err := s.rdb.Get(ctx, rediskeys.Format).Result()
	switch {
	case errors.Is(err, redis.Nil):
		found = 0
	case err != nil:
		return 0, err
	default:
		if found, err = strconv.Atoi(raw); err != nil {
			return 0, fmt.Errorf("%w: %s holds %q, not a format number", ErrFormat, rediskeys.Format, raw)
		}
	}
	if found > Format || found < MinReadFormat {
		return found, fmt.Errorf("%w: Redis holds format %d; this version reads formats %d to %d (a newer beianscan wrote it: run that version, or restore a backup taken before the upgrade)",
			ErrFormat, found, MinReadFormat, Format)
	}
	if found < Format {
		// Raised in one step and never lowered: an older instance racing a newer one
		// leaves the newer format.
		if err := raiseFormat.Run(ctx, s.rdb, []string{rediskeys.Format}, Format).Err(); err != nil {
			return found, err
		}
	}
	return found, nil
}

var raiseFormat = redis.NewScript(`
local cur = tonumber(redis.call("GET", KEYS[1]) or "0") or 0
if cur < tonumber(ARGV[1]) then redis.call("SET", KEYS[1], ARGV[1]) end
return cur`)
