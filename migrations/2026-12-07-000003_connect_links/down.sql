DROP TABLE connect_link_nonces, connect_links;
