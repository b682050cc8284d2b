package stack

import (
	"context"
	"errors"
	"flag"
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
	"go.temporal.io/sdk/temporal"

	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Cluster is the production shape of Temporal: the server binary (go.temporal.io/server/cmd/server) with
// PostgreSQL persistence and visibility, set up and configured by what deploy/temporal holds for the
// compose stack — setup-schema.sh, config/production.yaml (the compose's environment variables),
// dynamicconfig/production-sql.yaml and setup-namespace.sh.
type Cluster struct {
	ServerPath    string // temporal-server
	SQLToolPath   string // temporal-sql-tool
	SchemaDir     string // the module's schema/postgresql/v12
	DeployDir     string // deploy/temporal
	DynamicConfig string // the server's dynamic config file ("": deploy/temporal's production-sql.yaml)
	Shards        int    // history shards
	SQLMaxConns   int    // the persistence pool (maxConns and maxIdleConns)
	// DBPrefix names the run's two databases, <prefix> and <prefix>_visibility (dropped at start).
	DBPrefix string
	// PostgresDSN is the PostgreSQL server's maintenance DSN; Temporal's databases are made there.
	PostgresDSN string
}

// TemporalFlags are --temporal (dev or cluster) and the cluster's settings, shared by affrelay-chaos and
// affrelay-bench.
type TemporalFlags struct {
	mode    string
	cluster Cluster
}

// RegisterTemporalFlags adds --temporal and the cluster's flags to fs; dbPrefix names the cluster's databases
// by default.
func RegisterTemporalFlags(fs *flag.FlagSet, dbPrefix string) *TemporalFlags {
	f := &TemporalFlags{cluster: Cluster{ServerPath: "./bin/temporal-server", SQLToolPath: "./bin/temporal-sql-tool",
		DeployDir: "./deploy/temporal", Shards: 16, SQLMaxConns: 10, DBPrefix: dbPrefix}}
	c := &f.cluster
	fs.StringVar(&f.mode, "temporal", "dev", "dev: the Temporal CLI's dev server; cluster: the Temporal server with PostgreSQL, set up by deploy/temporal")
	fs.StringVar(&c.ServerPath, "temporal-server", c.ServerPath, "with --temporal cluster: the server binary (go.temporal.io/server/cmd/server)")
	fs.StringVar(&c.SQLToolPath, "temporal-sql-tool", c.SQLToolPath, "with --temporal cluster: the schema tool (go.temporal.io/server/cmd/tools/sql)")
	fs.StringVar(&c.SchemaDir, "temporal-schema", "", "with --temporal cluster: the server module's schema/postgresql/v12 folder")
	fs.StringVar(&c.DeployDir, "deploy-dir", c.DeployDir, "with --temporal cluster: deploy/temporal (schema and namespace scripts, server config, dynamic config)")
	fs.StringVar(&c.DynamicConfig, "temporal-dynamic-config", "", "with --temporal cluster: the server's dynamic config file (default: the deploy dir's dynamicconfig/production-sql.yaml)")
	fs.IntVar(&c.Shards, "shards", c.Shards, "with --temporal cluster: history shards")
	fs.IntVar(&c.SQLMaxConns, "temporal-sql-conns", c.SQLMaxConns, "with --temporal cluster: the server's persistence connections (maxConns and maxIdleConns)")
	fs.StringVar(&c.DBPrefix, "temporal-database", c.DBPrefix, "with --temporal cluster: Temporal's PostgreSQL databases, <name> and <name>_visibility (dropped and made again)")
	fs.StringVar(&c.PostgresDSN, "temporal-postgres-dsn", "", "with --temporal cluster: the PostgreSQL maintenance DSN where Temporal's databases are made")
	return f
}

// Cluster is the cluster the flags ask for, or nil for the dev server; its databases are made through
// maintenanceDSN unless --temporal-postgres-dsn is given.
func (f *TemporalFlags) Cluster(maintenanceDSN string) (*Cluster, error) {
	switch f.mode {
	case "dev":
		return nil, nil
	case "cluster":
		c := f.cluster
		if c.SchemaDir == "" || c.Shards < 1 || c.SQLMaxConns < 1 {
			return nil, errors.New("--temporal cluster needs --temporal-schema, at least one shard and one SQL connection")
		}
		if c.PostgresDSN == "" {
			c.PostgresDSN = maintenanceDSN
		}
		return &c, nil
	default:
		return nil, fmt.Errorf("--temporal %q: dev or cluster", f.mode)
	}
}

// Describe names the cluster's shape for a report.
func (c *Cluster) Describe() string {
	return fmt.Sprintf("server with PostgreSQL, %d history shards, %d SQL connections", c.Shards, c.SQLMaxConns)
}

// Start makes Temporal's databases, migrates them with setup-schema.sh, starts the server (its log and the
// scripts' in dir) and registers the namespace and search attributes with setup-namespace.sh, which runs the
// Temporal CLI at cliPath.
func (c *Cluster) Start(ctx context.Context, dir, cliPath string, logf func(format string, args ...any)) (*TemporalServer, error) {
	deploy, err := filepath.Abs(c.DeployDir)
	if err != nil {
		return nil, err
	}
	dynamicConfig := c.DynamicConfig
	if dynamicConfig == "" {
		dynamicConfig = filepath.Join(deploy, "dynamicconfig", "production-sql.yaml")
	}
	if dynamicConfig, err = filepath.Abs(dynamicConfig); err != nil {
		return nil, err
	}
	mainDB, visibilityDB := c.DBPrefix, c.DBPrefix+"_visibility"
	for _, name := range []string{mainDB, visibilityDB} {
		// setup-schema.sh's create leaves an existing database alone: it finds them empty.
		if err := RecreatePostgresDatabase(c.PostgresDSN, name); err != nil {
			return nil, err
		}
	}
	pg, err := postgresAddress(c.PostgresDSN)
	if err != nil {
		return nil, err
	}
	setup := func(script string, env ...string) error {
		cmd := exec.CommandContext(ctx, "sh", filepath.Join(deploy, script))
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(filepath.Join(dir, strings.TrimSuffix(script, ".sh")+".log"), out, 0o644)
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", script, err, out)
		}
		return nil
	}
	logf("Temporal schema: %s setup-schema.sh into %s and %s", deploy, mainDB, visibilityDB)
	if err := setup("setup-schema.sh", "SQL_PLUGIN=postgres12", "SQL_HOST="+pg.host, "SQL_PORT="+pg.port, "SQL_USER="+pg.user,
		"SQL_PASSWORD="+pg.passwordOr("unused"), "TEMPORAL_DB="+mainDB, "TEMPORAL_VISIBILITY_DB="+visibilityDB,
		"SCHEMA_DIR="+c.SchemaDir, "SQL_TOOL="+c.SQLToolPath); err != nil {
		return nil, err
	}

	conns := strconv.Itoa(c.SQLMaxConns)
	env := append(os.Environ(), "DB=postgres12", "POSTGRES_SEEDS="+pg.host, "DB_PORT="+pg.port, "POSTGRES_USER="+pg.user,
		"POSTGRES_PWD="+pg.passwordOr("unused"), "DBNAME="+mainDB, "VISIBILITY_DBNAME="+visibilityDB,
		"NUM_HISTORY_SHARDS="+strconv.Itoa(c.Shards), "BIND_ON_IP=127.0.0.1", "SQL_MAX_CONNS="+conns, "SQL_MAX_IDLE_CONNS="+conns, "VISIBILITY_SQL_MAX_CONNS=4",
		"DYNAMIC_CONFIG_FILE_PATH="+dynamicConfig)
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
	srv := &TemporalServer{
		Process: Process{Path: c.ServerPath, Env: env, LogPath: filepath.Join(dir, "temporal-server.log"),
			Args: []string{"--root", "/", "--config", filepath.Join(deploy, "config"), "--env", "production", "--allow-no-auth", "start"}},
		Addr: fmt.Sprintf("127.0.0.1:%d", frontend),
	}
	logf("starting the Temporal server on %s (%s; dynamic config %s)", srv.Addr, c.Describe(), dynamicConfig)
	if err := srv.Start(ctx, 3*time.Minute); err != nil {
		return nil, err
	}
	cliDir, err := filepath.Abs(filepath.Dir(cliPath))
	if err != nil {
		return srv, err
	}
	if err := setup("setup-namespace.sh", "TEMPORAL_ADDRESS="+srv.Addr, "TEMPORAL_NAMESPACE="+client.DefaultNamespace,
		"PATH="+cliDir+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		return srv, err
	}
	if err := checkSearchAttributes(ctx, srv.Addr); err != nil {
		return srv, err
	}
	waited := time.Now()
	refused, err := waitSearchAttributesUsable(ctx, srv.Addr, time.Minute)
	logf("the search attributes are usable after %s (%d starts refused before)", time.Since(waited).Round(time.Millisecond), refused)
	return srv, err
}

// DropDatabases drops the cluster's two databases (after its server has stopped).
func (c *Cluster) DropDatabases() error {
	return errors.Join(DropPostgresDatabase(c.PostgresDSN, c.DBPrefix), DropPostgresDatabase(c.PostgresDSN, c.DBPrefix+"_visibility"))
}

// checkSearchAttributes fails when the namespace lacks a search attribute the workflows set: the compose
// stack's setup-namespace.sh must register all of them (the workers only try, and a server may refuse).
func checkSearchAttributes(ctx context.Context, addr string) error {
	c, err := Dial(addr)
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

// waitSearchAttributesUsable waits until the frontend accepts a start that sets every search attribute. The
// services read a namespace's search attributes from a registry refreshed every 10 s, so for up to that long
// after setup-namespace.sh a start that sets one is refused ("Namespace default has no mapping defined for
// search attribute EventID"): the first postbacks of a run answered 503. The probe is terminated at once.
// It returns how many probes were refused.
func waitSearchAttributesUsable(ctx context.Context, addr string, timeout time.Duration) (int, error) {
	c, err := Dial(addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var attrs []temporal.SearchAttributeUpdate
	for _, k := range workflows.SearchAttributes {
		keyword, ok := k.(temporal.SearchAttributeKeyKeyword)
		if !ok {
			return 0, fmt.Errorf("search attribute %s is not a Keyword, as setup-namespace.sh registers it", k.GetName())
		}
		attrs = append(attrs, keyword.ValueSet("search-attribute-probe"))
	}
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("search-attribute-probe-%d", i), TaskQueue: "search-attribute-probe",
			WorkflowExecutionTimeout: time.Minute, TypedSearchAttributes: temporal.NewSearchAttributes(attrs...),
		}, "SearchAttributeProbe")
		if err == nil {
			return i, c.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "search attribute probe")
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return i + 1, fmt.Errorf("the search attributes are registered but a start that sets them is still refused: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
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

// RecreatePostgresDatabase drops a database of a run, if it exists, and creates it empty.
func RecreatePostgresDatabase(maintenanceDSN, name string) error {
	return onPostgresServer(maintenanceDSN, name, (*store.Store).RecreateDatabase)
}

// DropPostgresDatabase drops a run's database, if it exists.
func DropPostgresDatabase(maintenanceDSN, name string) error {
	return onPostgresServer(maintenanceDSN, name, (*store.Store).DropDatabase)
}

// onPostgresServer checks a run's database name and applies change to it through the maintenance database.
func onPostgresServer(maintenanceDSN, name string, change func(*store.Store, string) error) error {
	if !validDatabaseName(name) {
		return fmt.Errorf("database name %q: lower-case letters, digits and _ only", name)
	}
	s, err := store.Open("postgres", maintenanceDSN)
	if err != nil {
		return err
	}
	defer s.Close()
	return change(s, name)
}

func validDatabaseName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// BackendPIDs are the process ids of the PostgreSQL backends connected to the cluster's databases, so that a
// benchmark can read the CPU that Temporal's persistence costs on the database server (the same machine).
func (c *Cluster) BackendPIDs() ([]int, error) {
	s, err := store.Open("postgres", c.PostgresDSN)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.BackendPIDs(c.DBPrefix, c.DBPrefix+"_visibility")
}
