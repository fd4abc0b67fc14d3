package orders

import "github.com/beianscan/beianscan/internal/images"

// readBody reads an upload's image whole, in one buffer of its declared size when known
// (the edge has reserved that much of the body budget, internal/admission.Bodies), never
// more than the upload's limit.
func (s *Service) readBody(u Upload) ([]byte, error) {
	size := u.Size
	if size <= 0 {
		size = -1
	}
	return images.ReadSized(u.Body, size, s.ReadLimit(u.Fit))
}
