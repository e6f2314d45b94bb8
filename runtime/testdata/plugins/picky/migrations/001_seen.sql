create table seen (id text primary key, n int not null);
