package redisstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

// CreateReviewSession stores a reviewer's session under the SHA-256 of its cookie, with
// the fingerprint of the key it was opened with, for ttl.
func (s *Store) CreateReviewSession(ctx context.Context, hash, reviewer, fingerprint string, ttl time.Duration) (err error) {
	defer translate(&err)
	return s.rdb.Set(ctx, rediskeys.ReviewSession(hash), reviewer+"\n"+fingerprint, ttl).Err()
}

// ReviewSession returns a session's reviewer and key fingerprint, or
// filing.ErrUnauthorized when there is none.
func (s *Store) ReviewSession(ctx context.Context, hash string) (_, _ string, err error) {
	defer translate(&err)
	v, err := s.rdb.Get(ctx, rediskeys.ReviewSession(hash)).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", filing.ErrUnauthorized
	}
	if err != nil {
		return "", "", err
	}
	name, fp, _ := strings.Cut(v, "\n")
	return name, fp, nil
}

// DeleteReviewSession ends a session.
func (s *Store) DeleteReviewSession(ctx context.Context, hash string) (err error) {
	defer translate(&err)
	return s.rdb.Del(ctx, rediskeys.ReviewSession(hash)).Err()
}
