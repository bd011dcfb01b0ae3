CREATE OR REPLACE FUNCTION scimd_emails(resource jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(array_agg(lower(e ->> 'value')) FILTER (WHERE e ->> 'value' IS NOT NULL), '{}')
    FROM jsonb_array_elements(
        CASE jsonb_typeof(resource -> 'emails') WHEN 'array' THEN resource -> 'emails' ELSE '[]' END
    ) AS e
$$;
