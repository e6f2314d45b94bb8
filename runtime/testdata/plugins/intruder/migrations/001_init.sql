create table notes (id int primary key);
create table blob (data text not null);
