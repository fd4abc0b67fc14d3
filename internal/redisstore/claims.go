package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/webhook"
)

//go:embed retire.lua
var retireSource string

// claimAnswer is the claim script's verdict, with the order's state for invalid_state, and
// for a claim or a reclaim the order's keys as the script read them after its writes and
// the device's generation.
type claimAnswer struct {
	orders.ClaimOutcome
	state  string
	stored stored
	gen    int64
}

// claim runs the claim script (claim.lua), which writes the claim's audit entry and reads
// the snapshot too; pre and post are the phone_connected frame around its version. The
// device's generation (req.DeviceHash) is read in the same pipeline, and the WAIT follows
// both, so it confirms the claim and its entry: one round trip in all.
func (s *Store) claim(ctx context.Context, req orders.ClaimRequest, pre, post string) (claimAnswer, error) {
	id := req.OrderID
	keys := []string{rediskeys.Pairing(id), rediskeys.Order(id), rediskeys.Version(id), rediskeys.Retired(id),
		rediskeys.Audit(id), rediskeys.AuditReads(id), rediskeys.Materials(id), rediskeys.Hold(id), rediskeys.Webhooks(id),
		rediskeys.Queued(id)}
	entry := orders.AuditEntry{At: req.Now.UTC(), Actor: orders.ActorPhone, Action: orders.AuditClaim, IP: req.IP}
	args := append([]any{req.CodeHash, req.DeviceID, req.AppVersion, req.Now.UnixMilli(), strings.Join(req.AppProvinces, ","),
		pre, post, rediskeys.Events(id), req.DeviceName, s.retention.Milliseconds(), s.claimWatch(id), outboxOutlives.Milliseconds()},
		auditValues(entry)...)
	// A Cluster client's connection is the order's master, which may not hold the device's
	// key (another slot): there it is read on its own, after.
	_, cluster := s.rdb.(*redis.ClusterClient)
	var gen *redis.StringCmd
	also := func(p redis.Pipeliner) {
		if req.DeviceHash != "" && !cluster {
			gen = p.Get(ctx, rediskeys.DeviceGeneration(req.DeviceHash))
		}
	}
	// No bump: a reclaim, which changes no claim, still writes its audit entry, so the WAIT
	// covers everything the master had, the first attempt's claim included (which may have
	// answered 503: see confirm).
	out, err := s.runConfirmed(ctx, claimScript, keys, id, false, also, args...)
	if err != nil {
		return claimAnswer{}, err
	}
	a := claimAnswer{}
	status, _ := out[0].(string)
	a.ClaimOutcome = orders.ClaimOutcome(status)
	switch a.ClaimOutcome {
	case orders.ClaimOK, orders.ClaimReclaimed:
	default:
		if len(out) > 1 {
			a.state, _ = out[1].(string)
		}
		return a, nil
	}
	if a.stored, err = claimedKeys(out); err != nil {
		return claimAnswer{}, fmt.Errorf("redisstore: claim of %s: %w", id, err)
	}
	switch {
	case req.DeviceHash == "":
	case gen != nil:
		a.gen, err = gen.Int64()
	default:
		a.gen, err = s.rdb.Get(ctx, rediskeys.DeviceGeneration(req.DeviceHash)).Int64()
	}
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return a, err
}

// claimWatch is the ID of the deletion watch a claim rewrites ("" without webhooks): the
// claim is a change, and the watch carries the version of the order's last change.
func (s *Store) claimWatch(orderID string) string {
	if s.webhooks == nil {
		return ""
	}
	return deliveryID(orderID, 0, webhook.OrderDeleted)
}

// claimedKeys reads the snapshot part of the claim script's answer: {outcome, order JSON,
// version, materials, pairing, hold}.
func claimedKeys(out []any) (stored, error) {
	if len(out) != 6 {
		return stored{}, fmt.Errorf("the script answered %d values, want 6", len(out))
	}
	raw, ok := out[1].(string)
	if !ok {
		return stored{}, errors.New("no order JSON in the answer")
	}
	r := stored{order: []byte(raw)}
	// INCR answers a number, GET a string, or nothing for a missing key (version 0); a
	// version that is not a number is damage, refused as load refuses it.
	switch v := out[2].(type) {
	case int64:
		r.version = v
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return stored{}, fmt.Errorf("version: %w", err)
		}
		r.version = n
	case nil:
	default:
		return stored{}, fmt.Errorf("version of type %T", v)
	}
	var err error
	for i, h := range []*map[string]string{&r.mats, &r.pairing, &r.hold} {
		if *h, err = flatHash(out[3+i]); err != nil {
			return stored{}, err
		}
	}
	return r, nil
}

// flatHash turns an HGETALL answer inside a script's answer (field, value, …) into a map.
func flatHash(v any) (map[string]string, error) {
	flat, ok := v.([]any)
	if !ok || len(flat)%2 != 0 {
		return nil, fmt.Errorf("a hash answered as %T", v)
	}
	m := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		k, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		m[k] = val
	}
	return m, nil
}

// retire remembers the code of a pairing that is replaced or revoked in this update, so
// that a claim of it answers pairing_expired (the page renewed its QR) rather than
// pairing_not_found, for as long as the pairing itself would have been kept. The entry holds
// that time and the claim script compares it with the caller's clock; the key's TTL only
// tidies up. It is queued on the update's transaction, so it happens with the change.
func (s *Store) retire(ctx context.Context, p redis.Pipeliner, orderID string, before, after *orders.Pairing, now time.Time) {
	if before == nil || before.CodeHash == "" || (after != nil && after.ID == before.ID) {
		return
	}
	until := before.ExpiresAt
	if until.Before(now) {
		until = now
	}
	until = until.Add(s.keepClaimed)
	// Eval rather than EvalSha: inside MULTI a missing script could not be retried.
	p.Eval(ctx, retireSource, []string{rediskeys.Retired(orderID)}, before.CodeHash, until.UnixMilli(), now.UnixMilli())
}

// Guess counts one claim of a code this server never issued from ip, unless ip is past
// limit in its window; see guess.lua.
func (s *Store) Guess(ctx context.Context, ip string, limit int, window time.Duration, now time.Time) (_ time.Duration, err error) {
	defer translate(&err)
	n, err := guessScript.Run(ctx, s.rdb, []string{rediskeys.Guesses(ip)}, now.UnixMilli(), window.Milliseconds(), limit).Int64()
	return time.Duration(n) * time.Millisecond, err
}

// GuessResume counts one wrong resume code against the IP's and then the order's counter,
// each with guess.lua (one atomic step each: the two keys are in different slots). The
// IP's refusal counts nothing more; orderID "" counts against the IP only.
func (s *Store) GuessResume(ctx context.Context, orderID, ip string, limit int, window time.Duration, now time.Time) (_ time.Duration, err error) {
	defer translate(&err)
	keys := []string{rediskeys.ResumeGuesses(ip)}
	if orderID != "" {
		keys = append(keys, rediskeys.OrderResumeGuesses(orderID))
	}
	for _, k := range keys {
		n, err := guessScript.Run(ctx, s.rdb, []string{k}, now.UnixMilli(), window.Milliseconds(), limit).Int64()
		if err != nil || n > 0 {
			return time.Duration(n) * time.Millisecond, err
		}
	}
	return 0, nil
}
