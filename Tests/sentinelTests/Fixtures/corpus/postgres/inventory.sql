CREATE ROLE inventory LOGIN PASSWORD 'inventory-secret';
CREATE DATABASE inventory OWNER inventory;
\connect inventory
SET ROLE inventory;
CREATE TABLE items (id SERIAL PRIMARY KEY, sku TEXT UNIQUE, quantity INT NOT NULL DEFAULT 0);
INSERT INTO items (sku, quantity) VALUES ('TEA-DJ', 40), ('TEA-AS', 25), ('COF-AR', 18);
