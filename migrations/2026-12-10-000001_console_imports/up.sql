-- The console's CSV imports as jobs (provisioning::import_jobs): the node that runs an
-- import writes its progress and end here, so the page polling it may reach any node. A
-- job's row keeps its file while it may still be confirmed, so the confirmed import applies
-- exactly the file its dry run checked. Rows are kept an hour (`store::imports::forget_old`).
CREATE TABLE console_imports (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid NOT NULL,
    dry_run    boolean NOT NULL,
    state      text NOT NULL CHECK (state IN ('running', 'done', 'refused', 'failed')),
    rows_total integer NOT NULL CHECK (rows_total >= 0),
    -- Written about twice a second while the import runs, on a connection of its own:
    -- the import's transaction is not committed until the end.
    rows_done  integer NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    csv        text NOT NULL,
    -- provisioning::import::Summary, once the import has read the whole file.
    summary    jsonb,
    -- Why a failed import failed, as the operator reads it.
    error      text,
    created_at timestamptz NOT NULL,
    -- The running node's heartbeat: a running job not updated for a while was interrupted.
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX console_imports_updated ON console_imports (tenant_id, updated_at);
