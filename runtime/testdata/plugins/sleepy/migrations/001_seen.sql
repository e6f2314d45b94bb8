create table seen (id text primary key);
