package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/affrelay/affrelay/internal/stack"
	"github.com/affrelay/affrelay/workflows"
)

// Cluster is the production shape of Temporal: the server binary (go.temporal.io/server/cmd/server) with
// PostgreSQL persistence and visibility, set up and configured by what deploy/temporal holds for the
// compose stack — setup-schema.sh, config/production.yaml (the compose's environment variables),
// dynamicconfig/production-sql.yaml and setup-namespace.sh.
type Cluster struct {
	ServerPath  string // temporal-server
	SQLToolPath string // temporal-sql-tool
	SchemaDir   string // the module's schema/postgresql/v12
	DeployDir   string // deploy/temporal
	Shards      int    // history shards
	// DBPrefix names the run's two databases, <prefix> and <prefix>_visibility (dropped at start).
	DBPrefix string
}

// startCluster makes Temporal's databases, migrates them with setup-schema.sh, starts the server and
// registers the namespace and search attributes with setup-namespace.sh.
func (r *run) startCluster(ctx context.Context) (*stack.TemporalServer, error) {
	c := r.o.Cluster
	deploy, err := filepath.Abs(c.DeployDir)
	if err != nil {
		return nil, err
	}
	mainDB, visibilityDB := c.DBPrefix, c.DBPrefix+"_visibility"
	for _, name := range []string{mainDB, visibilityDB} {
		// setup-schema.sh's create leaves an existing database alone: it finds them empty.
		if err := recreatePostgresDatabase(r.o.PostgresDSN, name); err != nil {
			return nil, err
		}
	}
	pg, err := postgresAddress(r.o.PostgresDSN)
	if err != nil {
		return nil, err
	}
	setup := func(script string, env ...string) error {
		cmd := exec.CommandContext(ctx, "sh", filepath.Join(deploy, script))
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(filepath.Join(r.o.Dir, strings.TrimSuffix(script, ".sh")+".log"), out, 0o644)
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", script, err, out)
		}
		return nil
	}
	r.log("Temporal schema: %s setup-schema.sh into %s and %s", deploy, mainDB, visibilityDB)
	if err := setup("setup-schema.sh", "SQL_PLUGIN=postgres12", "SQL_HOST="+pg.host, "SQL_PORT="+pg.port, "SQL_USER="+pg.user,
		"SQL_PASSWORD="+pg.passwordOr("unused"), "TEMPORAL_DB="+mainDB, "TEMPORAL_VISIBILITY_DB="+visibilityDB,
		"SCHEMA_DIR="+c.SchemaDir, "SQL_TOOL="+c.SQLToolPath); err != nil {
		return nil, err
	}

	env := append(os.Environ(), "DB=postgres12", "POSTGRES_SEEDS="+pg.host, "DB_PORT="+pg.port, "POSTGRES_USER="+pg.user,
		"POSTGRES_PWD="+pg.passwordOr("unused"), "DBNAME="+mainDB, "VISIBILITY_DBNAME="+visibilityDB,
		"NUM_HISTORY_SHARDS="+strconv.Itoa(c.Shards), "BIND_ON_IP=127.0.0.1", "SQL_MAX_CONNS=10", "SQL_MAX_IDLE_CONNS=10", "VISIBILITY_SQL_MAX_CONNS=4",
		"DYNAMIC_CONFIG_FILE_PATH="+filepath.Join(deploy, "dynamicconfig", "production-sql.yaml"))
	var frontend int
	for _, name := range []string{"FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT", "HISTORY_GRPC_PORT",
		"HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT"} {
		port, err := freeLowPort()
		if err != nil {
			return nil, err
		}
		if frontend == 0 {
			frontend = port
		}
		env = append(env, name+"="+strconv.Itoa(port))
	}
	srv := &stack.TemporalServer{
		Process: stack.Process{Path: c.ServerPath, Env: env, LogPath: filepath.Join(r.o.Dir, "temporal-server.log"),
			Args: []string{"--root", "/", "--config", filepath.Join(deploy, "config"), "--env", "production", "--allow-no-auth", "start"}},
		Addr: fmt.Sprintf("127.0.0.1:%d", frontend),
	}
	r.log("starting the Temporal server on %s (%d history shards, PostgreSQL persistence and visibility)", srv.Addr, c.Shards)
	if err := srv.Start(ctx, 3*time.Minute); err != nil {
		return nil, err
	}
	cliDir, err := filepath.Abs(filepath.Dir(r.o.TemporalPath))
	if err != nil {
		return srv, err
	}
	if err := setup("setup-namespace.sh", "TEMPORAL_ADDRESS="+srv.Addr, "TEMPORAL_NAMESPACE="+client.DefaultNamespace,
		"PATH="+cliDir+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		return srv, err
	}
	return srv, checkSearchAttributes(ctx, srv.Addr)
}

// checkSearchAttributes fails when the namespace lacks a search attribute the workflows set: the compose
// stack's setup-namespace.sh must register all of them (the workers only try, and a server may refuse).
func checkSearchAttributes(ctx context.Context, addr string) error {
	c, err := stack.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: client.DefaultNamespace})
	if err != nil {
		return err
	}
	var missing []string
	for _, k := range workflows.SearchAttributes {
		if _, ok := res.GetCustomAttributes()[k.GetName()]; !ok {
			missing = append(missing, k.GetName())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("deploy/temporal/setup-namespace.sh did not register the search attributes %v", missing)
	}
	return nil
}

// freeLowPort is a free TCP port on 127.0.0.1 below 32768: Temporal stores membership ports as a SQL smallint.
func freeLowPort() (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port from 20000 to 32000")
}

// postgresServer is where a PostgreSQL DSN points.
type postgresServer struct {
	host, port, user, password string
}

func (p postgresServer) passwordOr(def string) string {
	if p.password == "" {
		return def
	}
	return p.password
}

func postgresAddress(dsn string) (postgresServer, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return postgresServer{}, err
	}
	p := postgresServer{host: u.Hostname(), port: u.Port(), user: u.User.Username()}
	p.password, _ = u.User.Password()
	if p.port == "" {
		p.port = "5432"
	}
	return p, nil
}
