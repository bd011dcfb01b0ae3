-- scimd_emails in PL/pgSQL, with the same result for every input. As a LANGUAGE sql
-- function with a FROM clause it cannot be inlined, so PostgreSQL parsed and planned its
-- body again for every statement that wrote a user (the users_emails index evaluates
-- it); PL/pgSQL keeps the plan for the session. The index stays valid: the function is
-- as IMMUTABLE as before and returns the same arrays.
CREATE OR REPLACE FUNCTION scimd_emails(resource jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
BEGIN
    RETURN (
        SELECT coalesce(array_agg(lower(e ->> 'value')) FILTER (WHERE e ->> 'value' IS NOT NULL), '{}')
        FROM jsonb_array_elements(
            CASE jsonb_typeof(resource -> 'emails') WHEN 'array' THEN resource -> 'emails' ELSE '[]' END
        ) AS e
    );
END
$$;
