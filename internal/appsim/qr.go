package appsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // DecodeQR accepts any format the server or a screenshot may give.
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// scanPath is the path of the page a QR code points at (api/openapi.json, GET /m/scan?code=…).
const scanPath = "/m/scan"

// maxQRBytes bounds a QR image fetched from a URL; the server's PNG is a few KiB.
const maxQRBytes = 8 << 20

// DecodeQR reads a QR code from an image (PNG, JPEG or GIF) and returns its text. It uses
// the gozxing QR reader with the TryHarder hint, so a photo or a screenshot with a margin
// works as well as the server's clean PNG.
func DecodeQR(img []byte) (string, error) {
	m, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return "", fmt.Errorf("phone: decode QR image: %w", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(m)
	if err != nil {
		return "", fmt.Errorf("phone: QR bitmap: %w", err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		// gozxing's finder-pattern detector misses about one clean code in 200 (measured on
		// the server's 320 px PNGs); a clean, upright code such as the server's can then
		// be read as a pure barcode, which needs no detection.
		pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
		if r, perr := qrcode.NewQRCodeReader().Decode(bmp, pure); perr == nil {
			return r.GetText(), nil
		}
		return "", fmt.Errorf("phone: no QR code found: %w", err)
	}
	return res.GetText(), nil
}

// ParseScanURL splits a scan URL such as http://host:8080/m/scan?code=XYZ into the
// server's base URL (scheme://host[:port], plus any path prefix the server is mounted
// under) and the pairing code. It refuses anything that is not an http(s) URL of the
// /m/scan page with a code: the app must not post a code to an arbitrary site.
func ParseScanURL(scanURL string) (base, code string, err error) {
	u, err := url.Parse(strings.TrimSpace(scanURL))
	if err != nil {
		return "", "", fmt.Errorf("phone: not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("phone: not an http(s) URL: %q", redact(scanURL))
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("phone: URL has no host: %q", redact(scanURL))
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, scanPath) {
		return "", "", fmt.Errorf("phone: not a scan URL (path is not %s): %q", scanPath, redact(scanURL))
	}
	code = u.Query().Get("code")
	if code == "" {
		return "", "", errors.New("phone: scan URL has no code")
	}
	prefix := strings.TrimSuffix(p, scanPath)
	return u.Scheme + "://" + u.Host + prefix, code, nil
}

// IsScanURL reports whether s parses as a scan URL.
func IsScanURL(s string) bool {
	_, _, err := ParseScanURL(s)
	return err == nil
}

// FetchQR downloads the QR PNG at qrURL (the desktop's GET /api/v1/orders/{id}/pairing/qr.png),
// sending desktopToken, when not empty, as Authorization: Bearer. A non-2xx answer is an
// *APIError.
func (c *Client) FetchQR(ctx context.Context, qrURL, desktopToken string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, qrURL, nil)
	if err != nil {
		return nil, fmt.Errorf("phone: %w", err)
	}
	if desktopToken != "" {
		req.Header.Set("Authorization", "Bearer "+desktopToken)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("phone: fetch QR: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxQRBytes))
	if err != nil {
		return nil, fmt.Errorf("phone: fetch QR: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, parseAPIError(resp.StatusCode, body)
	}
	return body, nil
}
