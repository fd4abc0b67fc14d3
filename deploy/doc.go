// Package deploy holds the production deployment's configuration that is not Go: the nginx
// configuration used by the repository's docker-compose.yml, the Prometheus scrape
// configuration and the Grafana dashboard (checked against the metrics beianscan exports). Its tests load that compose
// file the way Docker Compose does and check the layout docs/architecture.md asks for (Redis with
// AOF, two instances sharing one secret, one Redis and one blob volume, nginx upgrading
// the websockets), so that a change to the deployment files is caught by `go test`.
package deploy
