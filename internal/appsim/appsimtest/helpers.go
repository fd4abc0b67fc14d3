package appsimtest

import (
	"context"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// Context returns a context that ends after 30 seconds or when tb ends, whichever comes
// first, so a client call against a stuck fake fails the test instead of hanging it.
func Context(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// QR renders text as a QR code PNG as the server does (medium error correction), size
// pixels wide, or -n for n pixels per module; it fails the test if it cannot.
func QR(tb testing.TB, text string, size int) []byte {
	tb.Helper()
	png, err := encodeQR(text, size)
	if err != nil {
		tb.Fatal(err)
	}
	return png
}

func encodeQR(text string, size int) ([]byte, error) {
	return qrcode.Encode(text, qrcode.Medium, size)
}
