using Microsoft.EntityFrameworkCore;

// EF Core on a provider whose driver makes no spans of its own (SQLite): EF's events are the source.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var file = Path.Combine(Path.GetTempPath(), $"efsqlite-{Environment.ProcessId}.db");
builder.Services.AddDbContext<NotesContext>(options => options.UseSqlite("Data Source=" + file));
var app = builder.Build();
using (var scope = app.Services.CreateScope())
{
    var db = scope.ServiceProvider.GetRequiredService<NotesContext>();
    db.Database.EnsureDeleted();
    db.Database.EnsureCreated();
    db.Notes.Add(new Note { Text = "first", Stars = 5 });
    db.SaveChanges();
}

app.MapGet("/notes", async (NotesContext db) => await db.Notes.Where(n => n.Stars > 3).Select(n => n.Text).ToListAsync());
app.MapGet("/notes/broken", async (NotesContext db) =>
{
    try
    {
        await db.Database.ExecuteSqlRawAsync("SELEC nonsense");
        return Results.Ok();
    }
    catch (Microsoft.Data.Sqlite.SqliteException)
    {
        return Results.StatusCode(500);
    }
});
app.MapGet("/__ready", () => "ok");
app.Lifetime.ApplicationStopped.Register(() => File.Delete(file));
app.Run();

public sealed class NotesContext(DbContextOptions<NotesContext> options) : DbContext(options)
{
    public DbSet<Note> Notes => Set<Note>();
}

public sealed class Note
{
    public int Id { get; set; }

    public required string Text { get; set; }

    public int Stars { get; set; }
}
