package reviewers

import (
	"sync"
	"time"
)

// Limiter counts wrong logins per client IP in fixed windows: past Limit in a Window, that
// IP's logins answer 429 until the window ends. Only wrong keys count, so a guesser behind
// a reviewer's NAT cannot lock the reviewer out.
//
// It counts in this instance's memory only; a reusable limiter counted in Redis (the
// operator key's) is to replace it behind the same interface. Its map is bounded: past
// maxIPs the oldest windows are forgotten first, which favours the guesser only at a scale
// the request-rate limits meet first.
type Limiter struct {
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu  sync.Mutex
	ips map[string]*window
}

type window struct {
	start time.Time
	n     int
}

const maxIPs = 10000

// NewLimiter returns a limiter of limit wrong logins per window; limit 0 turns it off.
func NewLimiter(limit int, win time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{Limit: limit, Window: win, Now: now, ips: map[string]*window{}}
}

// Blocked returns how long ip must wait, 0 when it may try.
func (l *Limiter) Blocked(ip string) time.Duration {
	if l == nil || l.Limit <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.ips[ip]
	now := l.Now()
	if !ok || now.Sub(w.start) >= l.Window || w.n < l.Limit {
		return 0
	}
	return w.start.Add(l.Window).Sub(now)
}

// Failed counts one wrong login from ip.
func (l *Limiter) Failed(ip string) {
	if l == nil || l.Limit <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	w, ok := l.ips[ip]
	if !ok || now.Sub(w.start) >= l.Window {
		if !ok && len(l.ips) >= maxIPs {
			l.forgetOldest(now)
		}
		w = &window{start: now}
		l.ips[ip] = w
	}
	w.n++
}

func (l *Limiter) forgetOldest(now time.Time) {
	for ip, w := range l.ips {
		if now.Sub(w.start) >= l.Window {
			delete(l.ips, ip)
		}
	}
	for ip := range l.ips {
		if len(l.ips) < maxIPs {
			return
		}
		delete(l.ips, ip)
	}
}
