-- 0006_agents: service providers (服务商) acting for several merchants with
-- one key (WiseCashier's AgentNo). A merchant belongs to at most one agent;
-- agent_id is NULL for a merchant without one. An agent's settings (its
-- request-signing public keys) are sealed JSON, like a merchant's.

CREATE TABLE agents (
    id         INTEGER PRIMARY KEY,
    agent_no   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    settings   TEXT    NOT NULL, -- sealed JSON object
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX agents_no ON agents (agent_no);
CREATE UNIQUE INDEX agents_name ON agents (name);

ALTER TABLE merchants ADD COLUMN agent_id INTEGER REFERENCES agents (id);
CREATE INDEX merchants_agent ON merchants (agent_id) WHERE agent_id IS NOT NULL;
