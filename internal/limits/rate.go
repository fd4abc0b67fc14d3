// Package limits counts what docs/operations.md "Abuse" limits, in Redis, so that all instances
// count together: order creations per client IP and QR pairings per order (GCRA, with
// github.com/go-redis/redis_rate), and the live desktop websockets of an order (leases in a
// sorted set that an instance renews while it holds the connection, so a dead instance's
// places come free by themselves). A refusal is filing's rate_limited with the seconds to
// wait.
package limits

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is N events per period. A Rate with no N or no period limits nothing; as a setting
// of server.Config the zero Rate is unset (it takes the default) and RateOff is off.
type Rate struct {
	N   int
	Per time.Duration
}

// Off, as a limit (WebsocketsPerOrder, a Rate's N), turns it off. Zero is not off but
// unset: server.Config.withDefaults gives it the default.
const Off = -1

// RateOff is the rate that limits nothing, what "0" says on the command line.
var RateOff = Rate{N: Off}

// The defaults of the abuse limits (docs/operations.md, Abuse limits).
var (
	// DefaultOrderRate is how many orders one client IP may create.
	DefaultOrderRate = Rate{N: 30, Per: time.Hour}
	// DefaultPairingRate is how many QR pairings one order may create: the page renews
	// its QR by itself, so this only stops a runaway loop.
	DefaultPairingRate = Rate{N: 60, Per: time.Hour}
)

// DefaultWebsocketsPerOrder is how many desktop websockets one order may hold at once.
const DefaultWebsocketsPerOrder = 20

// Off reports whether the rate limits nothing.
func (r Rate) Off() bool { return r.N <= 0 || r.Per <= 0 }

func (r Rate) String() string {
	if r.Off() {
		return "0"
	}
	switch r.Per {
	case time.Second:
		return strconv.Itoa(r.N) + "/s"
	case time.Minute:
		return strconv.Itoa(r.N) + "/m"
	case time.Hour:
		return strconv.Itoa(r.N) + "/h"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// ParseRate reads "N/s", "N/m" or "N/h"; "0" (or "0/h" …) is RateOff.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return RateOff, nil
	}
	num, unit, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if !ok || err != nil || n < 0 {
		return Rate{}, fmt.Errorf("%q is not a rate such as 30/h (N/s, N/m or N/h; 0 turns it off)", s)
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
	if per == 0 {
		return Rate{}, fmt.Errorf("%q is not a rate such as 30/h (N/s, N/m or N/h; 0 turns it off)", s)
	}
	if n == 0 {
		return RateOff, nil
	}
	return Rate{N: n, Per: per}, nil
}
