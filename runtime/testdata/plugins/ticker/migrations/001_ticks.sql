create table ticks (n serial primary key, watermark text);
