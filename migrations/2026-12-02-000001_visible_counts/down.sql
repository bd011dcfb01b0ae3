DROP FUNCTION scimd_recount(uuid);
DROP TABLE visible_counts;
