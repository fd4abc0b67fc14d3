// Package positive gives settings their defaults where zero or negative means "not set": a
// duration, limit, count or threshold of zero would refuse, time out or flag everything.
// (cmp.Or is the rule where only zero is unset.)
package positive

// Or returns v when it is positive, else def.
func Or[T ~int | ~int64 | ~float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
