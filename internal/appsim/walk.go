package appsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// WalkOptions changes what Walk does. The zero value uploads sample images and completes.
type WalkOptions struct {
	// Images overrides the sample image of a slot (slot → image bytes; the content type is
	// sniffed). A slot given here is uploaded even when it is optional or already
	// uploaded, as long as the order lists it and the app may upload it.
	Images map[string][]byte
	// Seed chooses the sample images (SampleImage); the zero value is a fine seed.
	Seed int64
	// SkipComplete stops after the uploads, without POST /m/v1/complete.
	SkipComplete bool
}

// Walk does what a person with the app does after scanning the desktop's QR code: claim
// the pairing, look at the order and its materials, upload every material the order still
// needs that the app may upload (images[slot] when given, else SampleImage), and report
// completion. Each step is reported through c.Log.
//
// On failure the returned error is the server's *APIError when there is one, and the
// Session is returned too once the claim has succeeded, so a caller can look further.
func Walk(ctx context.Context, c *Client, scanURL string, images map[string][]byte) (*Session, error) {
	return WalkWith(ctx, c, scanURL, WalkOptions{Images: images})
}

// WalkWith is Walk with options.
func WalkWith(ctx context.Context, c *Client, scanURL string, opt WalkOptions) (*Session, error) {
	base, code, err := ParseScanURL(scanURL)
	if err != nil {
		return nil, err
	}
	s, err := c.Claim(ctx, base, code)
	if err != nil {
		return nil, err
	}
	order, _ := ParseOrder(s.Order) // Best effort: the summary is only shown.
	c.logf("claimed order %s for subject %q (%s, %s), domains %s; state %s",
		order.ID, order.SubjectName, order.SubjectType, order.Province,
		strings.Join(order.Domains, ", "), order.State)
	c.logf("QR code shown by desktop %s (%s) at %s; phone token (device %s) valid until %s",
		s.Desktop.IP, s.Desktop.UserAgent, fmtTime(s.Desktop.CreatedAt), s.DeviceID, fmtTime(s.ExpiresAt))

	plan := Plan(s.Materials, order.RequiredMaterials, opt.Images)
	for _, m := range s.Materials {
		c.logf("  material %-26s %s required=%t uploaded=%t%s", m.Slot, m.LabelZh, m.Required, m.Uploaded, appAllowedNote(m, order))
	}
	for _, slot := range skipped(opt.Images, s.Materials) {
		c.logf("skipping image for %s: this order does not list it", slot)
	}

	for _, slot := range plan {
		img, ok := opt.Images[slot]
		source := "your image"
		if !ok {
			img, source = SampleImage(slot, opt.Seed), "sample image"
		}
		raw, err := s.Upload(ctx, slot, img, "", newIdempotencyKey())
		if err != nil {
			c.logf("upload of %s (%s, %d bytes) failed: %v", slot, source, len(img), err)
			return s, err
		}
		var m Material
		_ = json.Unmarshal(raw, &m) // Best effort: only shown.
		warn := "none"
		if len(m.Warnings) > 0 {
			warn = strings.Join(m.Warnings, ", ")
		}
		c.logf("uploaded %s (%s): %s %dx%d, %d bytes, sha256 %s, warnings: %s",
			slot, source, m.Format, m.Width, m.Height, m.Size, m.SHA256, warn)
	}

	if raw, _, err := s.GetOrder(ctx); err != nil {
		return s, err
	} else if o, err := ParseOrder(raw); err == nil {
		c.logf("order %s is now %s (version %d)", o.ID, o.State, o.Version)
	}

	if opt.SkipComplete {
		c.logf("not completing (asked not to)")
		return s, nil
	}
	if err := s.Complete(ctx); err != nil {
		return s, err
	}
	c.logf("complete: the desktop has been told the phone is done")
	return s, nil
}

// Plan returns, in the order listed, the slots Walk uploads: each listed slot that is
// required and not yet uploaded, each flagged one (a re-upload pairing lists only the
// slots a reviewer flagged, and those hold a material already), plus each listed slot that overrides has an image for,
// leaving out slots the server says the app may not upload. appAllowed is the order's
// required_materials (which carries app_allowed) and may be nil.
func Plan(materials, appAllowed []Requirement, overrides map[string][]byte) []string {
	allowed := map[string]bool{}
	for _, r := range appAllowed {
		if r.AppAllowed != nil {
			allowed[r.Slot] = *r.AppAllowed
		}
	}
	var out []string
	for _, m := range materials {
		if m.AppAllowed != nil && !*m.AppAllowed {
			continue
		}
		if a, ok := allowed[m.Slot]; ok && !a {
			continue
		}
		_, override := overrides[m.Slot]
		if override || m.Flagged || (m.Required && !m.Uploaded) {
			out = append(out, m.Slot)
		}
	}
	return out
}

// skipped returns the override slots the materials list does not mention.
func skipped(overrides map[string][]byte, materials []Requirement) []string {
	var out []string
	for slot := range overrides {
		found := false
		for _, m := range materials {
			found = found || m.Slot == slot
		}
		if !found {
			out = append(out, slot)
		}
	}
	slices.Sort(out)
	return out
}

func appAllowedNote(m Requirement, o OrderSummary) string {
	a := m.AppAllowed
	for _, r := range o.RequiredMaterials {
		if a == nil && r.Slot == m.Slot {
			a = r.AppAllowed
		}
	}
	if a != nil && !*a {
		return " (desktop only)"
	}
	return ""
}

func newIdempotencyKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.Local().Format(time.DateTime)
}
