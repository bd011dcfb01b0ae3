DROP TABLE console_imports;
