package filing

import "time"

// The refusals of the limits of docs/operations.md, each with a message that tells the person what
// was limited. All are ErrRateLimited by code; RetryAfter adds the wait.
var (
	ErrTooManyGuesses = ErrRateLimited.WithMessage(
		"Too many invalid QR codes were scanned from this network; try again later.",
		"当前网络扫描的无效二维码过多，请稍后再试。")
	ErrTooManyOrders = ErrRateLimited.WithMessage(
		"Too many filing orders were created from this network; try again later.",
		"当前网络创建的备案订单过多，请稍后再试。")
	ErrTooManyPairings = ErrRateLimited.WithMessage(
		"The QR code of this order was renewed too often; wait a little, then refresh the page.",
		"该订单的二维码刷新过于频繁，请稍等片刻后刷新页面。")
	ErrTooManyConnections = ErrRateLimited.WithMessage(
		"This filing order is open in too many pages at once; close some of them and try again.",
		"该备案订单同时打开的页面过多，请关闭部分页面后重试。")
)

// RetryAfter returns a copy of e whose details carry the whole seconds to wait, rounded up
// and at least 1, which the edge also sends as the Retry-After header.
func RetryAfter(e *Error, wait time.Duration) *Error {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return e.WithDetails(map[string]any{DetailRetryAfter: secs})
}

// ErrTooManyResumeGuesses refuses a wrong resume code past the guess limit.
var ErrTooManyResumeGuesses = ErrRateLimited.WithMessage(
	"Too many wrong resume codes were tried; try again later.",
	"续办码错误次数过多，请稍后再试。")
