package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// MinSecretBytes is the shortest signing secret accepted, decoded.
const MinSecretBytes = 24

// Signer signs bodies per the Standard Webhooks specification with one or more secrets:
// during a change of secret both are given, and every request carries a signature by each
// (the specification's space-separated list), so the receiver may switch at its own time.
type Signer struct {
	hooks []*standardwebhooks.Webhook
}

// NewSigner parses BEIANSCAN_WEBHOOK_SECRET: space-separated "whsec_" + base64 secrets of
// at least MinSecretBytes each. Errors never repeat the secret.
func NewSigner(secrets string) (*Signer, error) {
	fields := strings.Fields(secrets)
	if len(fields) == 0 {
		return nil, errors.New("BEIANSCAN_WEBHOOK_SECRET is required with BEIANSCAN_WEBHOOK_URL")
	}
	s := &Signer{}
	for i, f := range fields {
		raw, ok := strings.CutPrefix(f, "whsec_")
		if !ok {
			return nil, fmt.Errorf("BEIANSCAN_WEBHOOK_SECRET: secret %d does not start with whsec_", i+1)
		}
		key, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, fmt.Errorf("BEIANSCAN_WEBHOOK_SECRET: secret %d is not base64", i+1)
		}
		if len(key) < MinSecretBytes {
			return nil, fmt.Errorf("BEIANSCAN_WEBHOOK_SECRET: secret %d has %d bytes, at least %d are needed", i+1, len(key), MinSecretBytes)
		}
		wh, err := standardwebhooks.NewWebhook(f)
		if err != nil {
			return nil, fmt.Errorf("BEIANSCAN_WEBHOOK_SECRET: secret %d: unusable", i+1)
		}
		s.hooks = append(s.hooks, wh)
	}
	return s, nil
}

// Sign returns the webhook-signature header's value for one attempt.
func (s *Signer) Sign(id string, at time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(s.hooks))
	for _, wh := range s.hooks {
		sig, err := wh.Sign(id, at, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// CheckURL refuses a receiver URL that would send the bodies in clear over a network:
// https anywhere, http only to a loopback address (a receiver on the same host, tests).
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("BEIANSCAN_WEBHOOK_URL is not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("BEIANSCAN_WEBHOOK_URL must be https:// (http:// only to a loopback address)")
	default:
		return errors.New("BEIANSCAN_WEBHOOK_URL must be https:// (http:// only to a loopback address)")
	}
}
