// Package deploy holds the production deployment's configuration that is not Go: the nginx
// configuration used by the repository's docker-compose.yml (TLS, balancing, websockets),
// the Prometheus scrape configuration, the Grafana dashboard and its provisioning, and the
// MinIO policy of the instances' bucket user. Its tests load that compose file the way
// Docker Compose does and check the production layout (Redis with AOF, a replica and
// Sentinels with their state on volumes, two instances sharing one secret, one Redis and
// one bucket, nginx terminating TLS and upgrading the websockets, Grafana provisioned), so
// that a change to the deployment files is caught by `go test`; the rolling-upgrade test
// runs the real nginx with nginx.conf in front of two real instances (docs/production.md).
package deploy
