package positive

import (
	"testing"
	"time"
)

func TestOr(t *testing.T) {
	if got := Or(5*time.Second, time.Minute); got != 5*time.Second {
		t.Errorf("Or(5s, 1m) = %v, want the value", got)
	}
	for _, v := range []time.Duration{0, -time.Second} {
		if got := Or(v, time.Minute); got != time.Minute {
			t.Errorf("Or(%v, 1m) = %v, want the default", v, got)
		}
	}
	if got := Or(0.0, 0.5); got != 0.5 {
		t.Errorf("Or(0.0, 0.5) = %v, want the default", got)
	}
	if got := Or(3, 32); got != 3 {
		t.Errorf("Or(3, 32) = %v, want the value", got)
	}
}
