package filing

import (
	"fmt"
	"log/slog"
)

// An order or a person that ends up in a log line by mistake shows no personal data: the
// log/slog value of an Order is its identity and progress only, and a Person prints with
// the ID number masked and no name (docs/operations.md, Privacy: logs hold no ID number, name or domain).

// LogValue implements slog.LogValuer.
func (o Order) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", o.ID), slog.String("state", string(o.State)), slog.Int64("version", o.Version),
		slog.String("province", o.Province), slog.String("subject_type", string(o.SubjectType)),
	)
}

// String is what fmt's verbs show of an order.
func (o Order) String() string {
	return fmt.Sprintf("{id:%s state:%s version:%d province:%s subject_type:%s}", o.ID, o.State, o.Version, o.Province, o.SubjectType)
}

// GoString is String for %#v.
func (o Order) GoString() string { return o.String() }

// LogValue implements slog.LogValuer.
func (p Person) LogValue() slog.Value { return slog.StringValue(p.String()) }

// String masks the person for fmt's verbs, nested in an Order too.
func (p Person) String() string {
	return fmt.Sprintf("{id_type:%s id_number:%s}", p.IDType, p.MaskedIDNumber())
}

// GoString is String for %#v.
func (p Person) GoString() string { return p.String() }
