CREATE DATABASE shop;
CREATE USER 'shop'@'%' IDENTIFIED BY 'shop-secret';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, INDEX ON shop.* TO 'shop'@'%';
CREATE TABLE shop.products (id INT PRIMARY KEY, name VARCHAR(64), category VARCHAR(16), price DECIMAL(6,2));
INSERT INTO shop.products VALUES (1, 'Darjeeling', 'tea', 7.50), (2, 'Assam', 'tea', 6.00), (3, 'Sencha', 'tea', 9.20),
    (4, 'Arabica', 'coffee', 8.40), (5, 'Dutch cocoa', 'cocoa', 5.10);
