CREATE FUNCTION scimd_emails(resource jsonb) RETURNS text[]
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
DROP INDEX users_emails;
CREATE INDEX users_emails ON users USING gin (scimd_emails(resource));
ALTER TABLE users DROP COLUMN emails;
