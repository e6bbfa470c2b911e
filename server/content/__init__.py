"""The pavilion's own pages (内容): banners, announcements and articles the county office writes,
sanitised on the server, scheduled, served to the mini-program from the catalogue's cache."""
