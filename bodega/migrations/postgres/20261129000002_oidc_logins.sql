-- Sign-ins with OpenID Connect under way. The browser went to the identity provider with a
-- random `state`; the callback takes the row back once, within ten minutes, for the PKCE
-- verifier and the nonce the ID token must carry. Kept in the Data Bodega (not in one server's
-- memory) so that any instance behind the load balancer can finish the sign-in.
CREATE TABLE oidc_logins (
    state_hash    TEXT PRIMARY KEY,     -- SHA-256 (hex) of the state; the state itself is not kept
    pkce_verifier TEXT NOT NULL,        -- secret for ten minutes: proves this server asked for the code
    nonce         TEXT NOT NULL,        -- the ID token must echo it (replay protection)
    next_path     TEXT NOT NULL,        -- where the user was going (a path on this site)
    created_at    BIGINT NOT NULL       -- UTC seconds
);
CREATE INDEX oidc_logins_created ON oidc_logins (created_at);
