package webhook

import "time"

// RetryFor is how long a delivery is retried before it is dead.
const RetryFor = 72 * time.Hour

// schedule is the wait after the n-th failed attempt (n from 1); past its end, hourly.
var schedule = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}

// Backoff returns the wait after the attempts-th failure, with ±20 % jitter from j (a
// number in [0, 1)), so that the deliveries of one outage do not all come back at once.
func Backoff(attempts int, j float64) time.Duration {
	d := schedule[len(schedule)-1]
	if attempts >= 1 && attempts <= len(schedule) {
		d = schedule[attempts-1]
	}
	return time.Duration(float64(d) * (0.8 + 0.4*j))
}

// next decides what a failed attempt leads to: another attempt at the returned time, or
// dead when that would fall past since + RetryFor.
func next(d Delivery, now time.Time, j float64) Outcome {
	at := now.Add(Backoff(d.Attempts+1, j))
	if at.After(time.UnixMilli(d.Since).Add(RetryFor)) {
		return Outcome{Status: StatusDead}
	}
	return Outcome{Status: StatusFailed, NextAt: at}
}
