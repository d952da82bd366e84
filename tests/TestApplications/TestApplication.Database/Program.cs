using Microsoft.EntityFrameworkCore;
using Npgsql;

// A web app with no tracing code that talks to PostgreSQL through raw Npgsql commands and EF Core.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var connectionString = Environment.GetEnvironmentVariable("DATABASE_URL") ?? throw new InvalidOperationException("DATABASE_URL is not set");
builder.Services.AddDbContext<ShopContext>(options => options.UseNpgsql(connectionString));
var app = builder.Build();
var dataSource = NpgsqlDataSource.Create(connectionString);

using (var scope = app.Services.CreateScope())
{
    var db = scope.ServiceProvider.GetRequiredService<ShopContext>();
    db.Database.EnsureCreated();
    if (!db.Items.Any())
    {
        db.Items.AddRange(new Item { Name = "widget", Price = 150 }, new Item { Name = "gadget", Price = 50 });
        db.SaveChanges();
    }
}

app.MapGet("/db/raw", async () =>
{
    await using var command = dataSource.CreateCommand("SELECT id, name FROM items WHERE name = 'widget' ORDER BY id");
    await using var reader = await command.ExecuteReaderAsync();
    var names = new List<string>();
    while (await reader.ReadAsync())
    {
        names.Add(reader.GetString(1));
    }

    await using var count = dataSource.CreateCommand("SELECT count(*) FROM items WHERE price > $1");
    count.Parameters.AddWithValue(99);
    var expensive = (long)(await count.ExecuteScalarAsync())!;
    return Results.Ok(new { names, expensive });
});

app.MapGet("/db/ef-query", async (ShopContext db) =>
{
    // A constant in the LINQ expression is inlined into the SQL by EF Core.
    var items = await db.Items.Where(i => i.Price > 123).Select(i => i.Name).ToListAsync();
    return Results.Ok(items);
});

app.MapPost("/db/insert", async (ShopContext db) =>
{
    db.Items.Add(new Item { Name = "inserted", Price = 7 });
    await db.SaveChangesAsync();
    return Results.Ok();
});

app.MapPost("/db/update-tx", async (ShopContext db) =>
{
    await using var transaction = await db.Database.BeginTransactionAsync();
    await db.Database.ExecuteSqlRawAsync("UPDATE items SET price = price + 1 WHERE name = 'gadget'");
    await transaction.CommitAsync();
    return Results.Ok();
});

app.MapGet("/db/batch", async () =>
{
    // One round trip with two statements, as an NpgsqlBatch and as one multi-statement command.
    await using var batch = dataSource.CreateBatch();
    batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE items SET price = price WHERE name = 'widget'"));
    batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT count(*) FROM items"));
    await batch.ExecuteNonQueryAsync();
    await using var multi = dataSource.CreateCommand("SELECT 1; SELECT name FROM items WHERE price > 100");
    await multi.ExecuteNonQueryAsync();
    return Results.Ok();
});

app.MapGet("/db/error", async () =>
{
    try
    {
        await using var command = dataSource.CreateCommand("SELEC broken FROM nowhere");
        await command.ExecuteNonQueryAsync();
        return Results.Ok();
    }
    catch (PostgresException e)
    {
        return Results.Text(e.SqlState, statusCode: 500);
    }
});

app.MapGet("/__ready", () => "ok");
app.Run();

public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
{
    public DbSet<Item> Items => Set<Item>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<Item>(e =>
        {
            e.ToTable("items");
            e.Property(i => i.Id).HasColumnName("id");
            e.Property(i => i.Name).HasColumnName("name");
            e.Property(i => i.Price).HasColumnName("price");
        });
}

public sealed class Item
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public int Price { get; set; }
}
