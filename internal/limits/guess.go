package limits

import (
	"context"
	_ "embed"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

var (
	//go:embed guess.lua
	guessSource string
	guessScript = redis.NewScript(guessSource)
	// refundScript gives a count back while its window lasts (a DECR after the window
	// would leave a counter without expiry).
	refundScript = redis.NewScript(`if redis.call('PTTL', KEYS[1]) > 0 then return redis.call('DECR', KEYS[1]) end return 0`)
)

// Defaults of a secret's guess limit: presentations per client IP per window.
const (
	DefaultGuesses     = 20
	DefaultGuessWindow = 10 * time.Minute
)

// ErrTooManyKeyGuesses refuses a secret presented too often from one network.
var ErrTooManyKeyGuesses = filing.ErrRateLimited.WithMessage(
	"Too many wrong keys were presented from this network; try again later.",
	"当前网络提交的错误密钥过多，请稍后再试。")

// Guesses limits how often one client IP may present a secret of one kind (docs/operations.md:
// every secret a person or a script presents is guess-limited per client IP), counted in
// Redis across instances. Each presentation is counted before it is judged, and refused
// with 429 rate_limited (Retry-After: the rest of the window) past the limit, so that
// parallel guesses get no more than the limit judged; a presentation that proves right
// gives its count back, so that the one who holds the secret is not counted down by using
// it. It is safe for concurrent use; a nil *Guesses limits nothing.
type Guesses struct {
	rdb    redis.UniversalClient
	kind   string
	scope  string
	limit  int
	window time.Duration
}

// NewGuesses limits presentations of the secret kind ("operator", "reviewer", …) to limit
// per window per client IP; zero takes the defaults; scope keeps test servers apart (as
// Config.Scope).
func NewGuesses(rdb redis.UniversalClient, kind, scope string, limit int, window time.Duration) *Guesses {
	if limit <= 0 {
		limit = DefaultGuesses
	}
	if window <= 0 {
		window = DefaultGuessWindow
	}
	return &Guesses{rdb: rdb, kind: kind, scope: scope, limit: limit, window: window}
}

// Try counts one presentation from ip. It returns right, to call when the secret proved
// right (it gives the count back), or 429 past the limit, or 503 when Redis fails.
func (g *Guesses) Try(ctx context.Context, ip string) (right func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	key := rediskeys.SecretGuesses(g.scope, g.kind, ip)
	wait, err := guessScript.Run(ctx, g.rdb, []string{key}, g.window.Milliseconds(), g.limit).Int64()
	if err != nil {
		return nil, unavailable(err)
	}
	if wait > 0 {
		return nil, filing.RetryAfter(ErrTooManyKeyGuesses, time.Duration(wait)*time.Millisecond)
	}
	return func() { _ = refundScript.Run(context.WithoutCancel(ctx), g.rdb, []string{key}).Err() }, nil
}

// Wrong counts one wrong presentation from ip, for a secret judged before it is counted
// (reviewer keys, as claim codes): a right one is never counted, so whoever holds it is
// never locked out by a guesser behind the same address. It answers nil when the wrong
// one was counted (the caller answers 401), 429 past the limit, or 503 when Redis fails;
// counting and refusing are one step, so parallel wrong keys get no more than the limit
// judged.
func (g *Guesses) Wrong(ctx context.Context, ip string) error {
	if g == nil {
		return nil
	}
	key := rediskeys.SecretGuesses(g.scope, g.kind, ip)
	wait, err := guessScript.Run(ctx, g.rdb, []string{key}, g.window.Milliseconds(), g.limit).Int64()
	if err != nil {
		return unavailable(err)
	}
	if wait > 0 {
		return filing.RetryAfter(ErrTooManyKeyGuesses, time.Duration(wait)*time.Millisecond)
	}
	return nil
}
