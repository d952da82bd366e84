using Microsoft.EntityFrameworkCore;

namespace Sample.Orders;

internal sealed class ShopDb(DbContextOptions<ShopDb> options) : DbContext(options)
{
    public DbSet<Product> Products => Set<Product>();

    public DbSet<Order> Orders => Set<Order>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Product>().ToTable("products");

        // The database, not the code, rejects a non-positive quantity: the demo's failing order.
        modelBuilder.Entity<Order>().ToTable("orders", t => t.HasCheckConstraint("ck_orders_quantity_positive", "\"Quantity\" > 0"));
    }
}

internal sealed class Product
{
    public int Id { get; set; }

    public required string Sku { get; set; }

    public required string Name { get; set; }

    public decimal Price { get; set; }
}

internal sealed class Order
{
    public int Id { get; set; }

    public required string Sku { get; set; }

    public int Quantity { get; set; }

    public decimal Total { get; set; }

    public required string PaymentMethod { get; set; }

    public DateTime CreatedAt { get; set; }
}
