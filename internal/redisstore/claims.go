package redisstore

import (
	"context"
	_ "embed"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

//go:embed retire.lua
var retireSource string

// claimAnswer is the claim script's verdict, with the order's state for invalid_state.
type claimAnswer struct {
	orders.ClaimOutcome
	state string
}

// claim runs the claim script (claim.lua); pre and post are the phone_connected frame
// around its version.
func (s *Store) claim(ctx context.Context, req orders.ClaimRequest, pre, post string) (claimAnswer, error) {
	id := req.OrderID
	keys := []string{rediskeys.Pairing(id), rediskeys.Order(id), rediskeys.Version(id), rediskeys.Retired(id)}
	// The bump makes a retried claim ("reclaimed", which writes nothing) confirm the first
	// attempt's write too: that attempt may have answered 503 (see confirm).
	out, err := s.runConfirmed(ctx, claimScript, keys, id, true,
		req.CodeHash, req.DeviceID, req.AppVersion, req.Now.UnixMilli(), strings.Join(req.AppProvinces, ","),
		pre, post, rediskeys.Events(id), req.DeviceName,
	)
	if err != nil {
		return claimAnswer{}, err
	}
	a := claimAnswer{}
	status, _ := out[0].(string)
	a.ClaimOutcome = orders.ClaimOutcome(status)
	if len(out) > 1 {
		a.state, _ = out[1].(string)
	}
	return a, nil
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
