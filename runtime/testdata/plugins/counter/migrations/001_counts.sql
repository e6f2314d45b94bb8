create table counts (type text primary key, n bigint not null);
