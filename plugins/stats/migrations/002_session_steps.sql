-- Which funnel steps a session reached: cart abandonment = sessions with a cart and no purchase.
alter table sessions add column has_cart boolean not null default false;
alter table sessions add column has_purchase boolean not null default false;
