#!/bin/sh
# What web server images do at start: make the cache directories, render the site's configuration
# from a template with the container's environment, drop the distribution's default site, then
# exec the server so that it is the container's main process.
set -eu
mkdir -p /var/cache/nginx/client_temp /var/cache/nginx/proxy_temp /var/log/nginx
chown -R www-data:www-data /var/cache/nginx
envsubst '$STOCK_BACKEND $SHOP_BACKEND' </etc/nginx/templates/site.conf.template >/etc/nginx/conf.d/site.conf
rm -f /etc/nginx/sites-enabled/default
nginx -t -q
exec nginx -g 'daemon off;'
