package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/sealbox"
)

// ReencryptIDs seals every stored order's ID numbers under ring's first key (for
// `beianscan reencrypt`); ring must also hold the keys they are sealed with now. It
// returns how many orders it rewrote.
//
// It is safe beside live instances and can be run again after an interruption: each order
// is rewritten in its own WATCH/MULTI transaction (a live change in between makes it read
// the order again), keeps its TTL and version (re-sealing is no change: no event, no new
// retention), and an order whose numbers are already under the first key is skipped. Live
// instances must already seal with the same first key, or their next change seals under
// the old one again. Only the id_number fields are touched; every other field is kept as
// it is, including any this version does not know.
func (s *Store) ReencryptIDs(ctx context.Context, ring *sealbox.Keyring) (changed int, err error) {
	return s.eachOrder(ctx, func(c *redis.Client, key, id string) (bool, error) {
		return reencryptOrder(ctx, c, key, id, ring)
	})
}

// eachOrder calls fn for every stored order's key, on every master of a cluster, and counts
// the calls that report a change.
func (s *Store) eachOrder(ctx context.Context, fn func(c *redis.Client, key, id string) (bool, error)) (changed int, err error) {
	pattern := rediskeys.Prefix + "{*}:order"
	scan := func(c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			rest, ok1 := strings.CutPrefix(key, rediskeys.Prefix+"{")
			id, ok2 := strings.CutSuffix(rest, "}:order")
			if !ok1 || !ok2 || id == "" || strings.ContainsAny(id, "{}") {
				continue
			}
			did, err := fn(c, key, id)
			if err != nil {
				return err
			}
			if did {
				changed++
			}
		}
		return iter.Err()
	}
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		// Keys live on every master; one at a time keeps the count simple.
		var masters []*redis.Client
		if err := c.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
			masters = append(masters, m)
			return nil
		}); err != nil {
			return 0, err
		}
		for _, m := range masters {
			if err := scan(m); err != nil {
				return changed, err
			}
		}
		return changed, nil
	case *redis.Client:
		return changed, scan(c)
	default:
		return 0, fmt.Errorf("redisstore: unsupported client %T", s.rdb)
	}
}

// ApplyRetention gives every stored order that has no expiry and is not submitted the
// retention from now: orders written before retention existed would otherwise be kept
// for ever. Run it once after upgrading (e.g. from `beianscan reencrypt`); like
// ReencryptIDs it is safe beside live instances and can be run again.
func (s *Store) ApplyRetention(ctx context.Context) (changed int, err error) {
	return s.eachOrder(ctx, func(c *redis.Client, key, id string) (bool, error) {
		return watchKey(ctx, c, key, "retention of order "+id, func(tx *redis.Tx) (bool, error) {
			if ttl, err := tx.PTTL(ctx, key).Result(); err != nil || ttl != -1 {
				return false, err // -2: gone; >= 0: it expires already
			}
			raw, err := tx.Get(ctx, key).Bytes()
			if err != nil {
				return false, err
			}
			var o struct {
				State filing.State `json:"state"`
			}
			if err := json.Unmarshal(raw, &o); err != nil || o.State == filing.StateSubmitted {
				return false, err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range []string{key, rediskeys.Version(id), rediskeys.Materials(id), rediskeys.Audit(id), rediskeys.AuditReads(id), rediskeys.Queued(id)} {
					p.PExpire(ctx, k, s.retention)
				}
				return nil
			})
			return err == nil, err
		})
	})
}

func reencryptOrder(ctx context.Context, c *redis.Client, key, id string, ring *sealbox.Keyring) (bool, error) {
	return watchKey(ctx, c, key, "reencrypt of order "+id, func(tx *redis.Tx) (bool, error) {
		raw, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return false, nil // expired or deleted meanwhile
		}
		if err != nil {
			return false, err
		}
		out, changed, err := reseal(raw, id, ring)
		if err != nil || !changed {
			return false, err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, key, out, redis.SetArgs{KeepTTL: true})
			return nil
		})
		return err == nil, err
	})
}

// watchKey runs change under WATCH of key, again while another writer gets in between (at
// most maxUpdateAttempts times); change reports whether it wrote.
func watchKey(ctx context.Context, c *redis.Client, key, what string, change func(tx *redis.Tx) (bool, error)) (bool, error) {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		did := false
		err := c.Watch(ctx, func(tx *redis.Tx) error {
			var err error
			did, err = change(tx)
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return did, err
	}
	return false, fmt.Errorf("redisstore: %s kept conflicting", what)
}

// reseal returns the order JSON with both ID numbers sealed under ring's first key, and
// whether anything had to change.
func reseal(raw []byte, orderID string, ring *sealbox.Keyring) ([]byte, bool, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, false, fmt.Errorf("redisstore: order %s: %w", orderID, err)
	}
	changed := false
	for _, person := range []string{subjectLeader, websiteLeader} {
		var p map[string]json.RawMessage
		if err := json.Unmarshal(doc[person], &p); err != nil || p == nil {
			continue
		}
		var n string
		if err := json.Unmarshal(p["id_number"], &n); err != nil || n == "" {
			continue
		}
		ctxt := idContext(orderID, person)
		if sealbox.IsSealedString(n) {
			if kid, ok := sealbox.StringKeyID(n); ok && kid == ring.Primary() {
				continue
			}
			plain, err := ring.OpenString(n, ctxt)
			if err != nil {
				return nil, false, fmt.Errorf("redisstore: order %s: %s's ID number: %w", orderID, person, err)
			}
			n = plain
		}
		// A string always encodes: the error cannot happen.
		b, _ := json.Marshal(ring.SealString(n, ctxt))
		p["id_number"] = b
		pb, err := json.Marshal(p)
		if err != nil {
			return nil, false, err
		}
		doc[person] = pb
		changed = true
	}
	if !changed {
		return raw, false, nil
	}
	out, err := json.Marshal(doc)
	return out, true, err
}
